/**
 * What the Patroni topology renders from the resolved `patroni` timings (./resolve.ts checks them): Patroni's
 * own names for them, and the bound of the pod's fence (scripts/patroni-fence.sh).
 */
import { ResolvedPatroni } from "../../../../args";
import { PATRONI_FIELDS } from "../../../../argTable";

/** Patroni's default timings as Patroni names them (the `patroni` arg's defaults): a dead primary's leader lock
 * expires after at most `ttl` seconds, and a replica notices within one `loop_wait`. docs/failover.md states the
 * resulting bound. */
export const PATRONI_TIMING = {
    ttl: PATRONI_FIELDS.ttl.default,
    loop_wait: PATRONI_FIELDS.loopWait.default,
    retry_timeout: PATRONI_FIELDS.retryTimeout.default,
} as const;

/** The env var that tells patroni-fence.sh how long a primary may answer nothing before it is killed. */
export const FENCE_AFTER_ENV = "RDB_FENCE_AFTER_SECONDS";
/** The same bound as a file of the config ConfigMap, beside the dynamic settings: patroni-dynamic.sh applies
 * the rendered settings only from a pod whose fence runs that render's bound (its env equals the file). */
export const FENCE_AFTER_FILE = "fence-after-seconds";
/** What one round of patroni-fence.sh can take beyond its bound: its question's timeout (ASK_TIMEOUT, 2 s)
 * and its interval (INTERVAL, 1 s). */
export const FENCE_ROUND_SECONDS = 3;

/**
 * How long patroni-fence.sh lets the primary's server answer nothing before it kills it: half the time
 * between the leader lock's last possible renewal and its expiry. A hung server stops Patroni's renewals;
 * the last came at most `loopWait` before the server stopped answering, so the lock expires no earlier than
 * `ttl - loopWait` after that. The kill must land before then (it lands at most FENCE_ROUND_SECONDS after the
 * bound); the other half is left to the fence's own round and a busy node's scheduling. 10 s for
 * Patroni's defaults (30/10), 9 s for the fast choice (20/2).
 */
export function fenceAfterSeconds(t: { ttl: number; loopWait: number }): number {
    return Math.floor((t.ttl - t.loopWait) / 2);
}

/** Patroni's dynamic settings (its `bootstrap.dcs`, `/config`) of these timings, named as Patroni names them. */
export function patroniTimingSettings(t: ResolvedPatroni): Record<string, number> {
    return { ttl: t.ttl, loop_wait: t.loopWait, retry_timeout: t.retryTimeout, primary_start_timeout: t.primaryStartTimeout };
}

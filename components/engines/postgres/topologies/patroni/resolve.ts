/**
 * The `patroni` arg: Patroni's timings (how fast a dead primary is replaced, how long a store outage is
 * survived) and what the pod's fence derives from them. Pure; resolveArgs calls it before any resource exists.
 *
 * Patroni's own rules (docs, "Dynamic Configuration Settings", since 3.2 at the latest; patroni/config.py
 * `_validate_and_adjust_timeouts`, which the image's 4.1.4 runs): `ttl` at least 20, `loop_wait` at least 1, `retry_timeout` at
 * least 3, and `loop_wait + 2 * retry_timeout <= ttl`. Patroni does not refuse a value that breaks them: it
 * logs a warning and silently runs other values (a `ttl` of 10 becomes 20, a too large `loop_wait` or
 * `retry_timeout` is cut). Refusing them here keeps the rendered timing the one Patroni runs. One rule of
 * our own is stricter than Patroni's: the margin a primary cut off from the store needs to stop before its
 * lock can expire (STORE_LOSS_MARGIN_SECONDS).
 */
import { PatroniArgs, ResolvedPatroni } from "../../../../args";
import { DEFAULTS } from "../../../../argTable";
import { ArgError, SettingNamer, argName, checkInteger, checkSettingsMap } from "../../../../validation";
import { FENCE_ROUND_SECONDS, fenceAfterSeconds } from "./timing";

/** Patroni's floors (see above) and our sane ceilings: an hour for the lock, five minutes between loops. */
export const TIMING_BOUNDS = {
    ttl: { min: 20, max: 3600 },
    loopWait: { min: 1, max: 300 },
    retryTimeout: { min: 3, max: 1200 },
    primaryStartTimeout: { min: 0, max: 3600 },
} as const satisfies Record<keyof PatroniArgs, { min: number; max: number }>;

/**
 * What a primary cut off from the store may take, beyond Patroni's own retries, to stop answering as the
 * primary: its store requests overrun their deadline and the demotion has to start. Patroni's rule
 * (`loopWait + 2 × retryTimeout <= ttl`) leaves only `loopWait` for that in the worst case. In CI, with
 * 20/2/9, the primary answered as one 25.0 s into a store outage, 5 s after its lock could have expired; most
 * of the overrun was the tests' etcd client looking for other etcd members after each failed request (one
 * more retry_timeout each), which the Kubernetes store does not do and the harness now turns off
 * (tests/harness/etcd.ts). The Kubernetes store's own overrun cannot be measured here, so the margin stays
 * what Patroni's defaults (30/10/10) leave.
 */
export const STORE_LOSS_MARGIN_SECONDS = 10;

/**
 * When a primary that lost the store stops answering as one, at the latest, counted from its last lock
 * renewal and without the overrun: either the outage began just after the renewal (the member-key write
 * waits `retryTimeout`, the next loop starts at once, its read waits `retryTimeout` and fails), or just before
 * the next loop (`loopWait`, then the read's `retryTimeout`).
 */
export function storeLossDemoteSeconds(t: { loopWait: number; retryTimeout: number }): number {
    return Math.max(2 * t.retryTimeout, t.loopWait + t.retryTimeout);
}

/**
 * A choice for production that fails over after node loss in about 20 s instead of about 30 s (README,
 * "Automated failover"): the smallest `ttl` Patroni accepts, a loop every 2 s so that the lock is renewed
 * (and a crashed server noticed) within 2 s, and `retryTimeout` 5, the most STORE_LOSS_MARGIN_SECONDS leaves:
 * a store outage shorter than that is ridden out, and a primary cut off from the store stops within 10 s of its
 * last renewal, 10 s before its lock can expire. `primaryStartTimeout` 30: a primary whose server does not
 * come back within 30 s of a crash is replaced instead of waited for (5 minutes by default).
 */
export const FAST_TIMING = { ttl: 20, loopWait: 2, retryTimeout: 5, primaryStartTimeout: 30 } as const satisfies Required<PatroniArgs>;

/** The timings with their defaults (Patroni's own), checked against Patroni's rules; only with `failover: "patroni"`. */
export function resolvePatroniTiming(given: PatroniArgs, failover: string, setting: SettingNamer = argName): ResolvedPatroni {
    const d = DEFAULTS.patroni;
    checkSettingsMap(setting("patroni"), given, Object.keys(d), "Patroni timings");
    if (failover !== "patroni" && Object.keys(given).length > 0) {
        throw new ArgError(setting("patroni"), given, `unset unless ${setting("failover")} is "patroni": only Patroni runs these timings`);
    }
    const s = (key: keyof PatroniArgs) => setting(`patroni.${key}`);
    const int = (key: keyof PatroniArgs) => checkInteger(s(key), given[key] ?? d[key], TIMING_BOUNDS[key].min, TIMING_BOUNDS[key].max);
    const t: ResolvedPatroni = { ttl: int("ttl"), loopWait: int("loopWait"), retryTimeout: int("retryTimeout"), primaryStartTimeout: int("primaryStartTimeout") };
    if (t.loopWait + 2 * t.retryTimeout > t.ttl) {
        throw new ArgError(
            s("ttl"),
            t.ttl,
            `at least ${s("loopWait")} + 2 × ${s("retryTimeout")} (${t.loopWait + 2 * t.retryTimeout}), Patroni's rule: ` +
                "the leader must be able to retry its lock renewal twice before the lock expires",
        );
    }
    const after = fenceAfterSeconds(t);
    if (after + FENCE_ROUND_SECONDS >= t.ttl - t.loopWait) {
        throw new ArgError(
            s("loopWait"),
            t.loopWait,
            `at most ${s("ttl")} - 7 (${t.ttl - 7}): the fence (patroni-fence.sh) needs ${after} s + ${FENCE_ROUND_SECONDS} s ` +
                `to kill a hung primary, before its lock can expire ${t.ttl - t.loopWait} s after its last answer`,
        );
    }
    const demote = storeLossDemoteSeconds(t);
    if (demote + STORE_LOSS_MARGIN_SECONDS > t.ttl) {
        throw new ArgError(
            s("ttl"),
            t.ttl,
            `at least max(2 × ${s("retryTimeout")}, ${s("loopWait")} + ${s("retryTimeout")}) + ${STORE_LOSS_MARGIN_SECONDS} (${demote + STORE_LOSS_MARGIN_SECONDS}): ` +
                `a primary cut off from the store stops within ${demote} s of its last lock renewal plus up to ${STORE_LOSS_MARGIN_SECONDS} s ` +
                "of a busy node's overrun, and must stop before its lock can expire (lower retryTimeout or raise ttl)",
        );
    }
    return t;
}

/**
 * The `patroni` arg: Patroni's timings (how fast a dead primary is replaced, how long a store outage is
 * survived) and what the pod's fence derives from them. Pure; resolveArgs calls it before any resource exists.
 *
 * Patroni's own rules (docs, "Dynamic Configuration Settings", since 3.2 at the latest; patroni/config.py
 * `_validate_and_adjust_timeouts`, which the image's 4.1.4 runs): `ttl` at least 20, `loop_wait` at least 1, `retry_timeout` at
 * least 3, and `loop_wait + 2 * retry_timeout <= ttl`. Patroni does not refuse a value that breaks them: it
 * logs a warning and silently runs other values (a `ttl` of 10 becomes 20, a too large `loop_wait` or
 * `retry_timeout` is cut). Refusing them here keeps the rendered timing the one Patroni runs.
 */
import { PatroniArgs, ResolvedPatroni } from "./args";
import { DEFAULTS } from "./argTable";
import { ArgError, SettingNamer, argName, checkInteger, checkSettingsMap } from "./validation";
import { FENCE_ROUND_SECONDS, fenceAfterSeconds } from "./engines/postgres/topologies/patroni/timing";

/** Patroni's floors (see above) and our sane ceilings: an hour for the lock, five minutes between loops. */
export const TIMING_BOUNDS = {
    ttl: { min: 20, max: 3600 },
    loopWait: { min: 1, max: 300 },
    retryTimeout: { min: 3, max: 1200 },
    primaryStartTimeout: { min: 0, max: 3600 },
} as const satisfies Record<keyof PatroniArgs, { min: number; max: number }>;

/**
 * A choice for production that fails over after node loss in about 20 s instead of about 30 s (README,
 * "Automated failover"): the smallest `ttl` Patroni accepts, a loop every 2 s so that the lock is renewed
 * (and a crashed server noticed) within 2 s, and `retryTimeout` 9, the most the rule leaves: a store outage
 * shorter than that is ridden out. `primaryStartTimeout` 30: a primary whose server does not come back within
 * 30 s of a crash is replaced instead of waited for (5 minutes by default).
 */
export const FAST_TIMING = { ttl: 20, loopWait: 2, retryTimeout: 9, primaryStartTimeout: 30 } as const satisfies Required<PatroniArgs>;

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
    return t;
}

/**
 * The `failover` arg (who decides the primary: a topology of the engine) and its deprecated boolean alias
 * `automatedFailover`. Pure: the component emits the deprecation warning.
 */
import { ArgError, SettingNamer, argName, checkBoolean, describe } from "./validation";

export const DEFAULT_FAILOVER = "manual";
/** What the deprecated `automatedFailover` stands for. */
const ALIAS_TARGET = { true: "patroni", false: "manual" } as const;

export interface FailoverArgs {
    failover?: string;
    automatedFailover?: boolean;
}

/** `value` must be one of the engine's topologies. */
export function checkFailover(setting: string, value: unknown, allowed: readonly string[]): string {
    if (typeof value !== "string" || !allowed.includes(value)) {
        throw new ArgError(setting, value, `one of ${allowed.map((t) => describe(t)).join(", ")}`);
    }
    return value;
}

/**
 * The chosen topology's name: `failover`, else what `automatedFailover` stands for, else "manual". Both set
 * must agree; `allowed` are the engine's topologies.
 */
export function resolveFailover(args: FailoverArgs, allowed: readonly string[], setting: SettingNamer = argName): string {
    const chosen = args.failover === undefined ? undefined : checkFailover(setting("failover"), args.failover, allowed);
    if (args.automatedFailover === undefined) {
        return chosen ?? checkFailover(setting("failover"), DEFAULT_FAILOVER, allowed);
    }
    const on = checkBoolean(setting("automatedFailover"), args.automatedFailover);
    const implied = ALIAS_TARGET[`${on}`];
    if (chosen !== undefined && chosen !== implied) {
        const agreeing = Object.entries(ALIAS_TARGET).find(([, t]) => t === chosen)?.[0];
        throw new ArgError(
            setting("automatedFailover"),
            on,
            `unset, as it is deprecated and ${setting("failover")} replaces it` +
                (agreeing === undefined ? "" : `; or ${agreeing}, which agrees with ${setting("failover")} ${describe(chosen)}`),
        );
    }
    if (!allowed.includes(implied)) {
        throw new ArgError(setting("automatedFailover"), on, `unset: it stands for ${setting("failover")} ${describe(implied)}, which the engine does not offer`);
    }
    return implied;
}

/** The warning for a set `automatedFailover`, naming its replacement; undefined when it is unset. */
export function failoverDeprecation(args: FailoverArgs, setting: SettingNamer = argName): string | undefined {
    if (typeof args.automatedFailover !== "boolean") {
        return undefined;
    }
    const target = ALIAS_TARGET[`${args.automatedFailover}`];
    return (
        `${setting("automatedFailover")} is deprecated and will be removed in the next release: ` +
        `set ${setting("failover")}: ${describe(target)} instead`
    );
}

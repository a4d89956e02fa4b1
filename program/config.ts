/**
 * Stack config -> component args. Every key of the `replicated-db` namespace maps to the arg of the same
 * name (`replicated-db:replicas` -> `replicas`), typed as the args table (components/argTable.ts) says;
 * errors name the config key, so that a user sees what to fix in Pulumi.<stack>.yaml.
 */
// The component's sources, as index.ts imports them (an edit is deployed without a build).
import { ArgError, ReplicatedDatabaseArgs, ResolvedArgs, SettingNamer, argKind, resolveArgs } from "../components";

export const CONFIG_NAMESPACE = "replicated-db";
/** The program's single component; also the default cluster name (pods `db-0`, `db-1`, ...). */
export const COMPONENT_NAME = "db";

export const configKey: SettingNamer = (arg) => `${CONFIG_NAMESPACE}:${arg}`;

/**
 * Converts the raw config (all namespaces, values as Pulumi hands them to a program: strings, with maps and
 * lists as JSON) to component args. Keys of other namespaces (kubernetes:context, ...) are left alone; an
 * unknown key of ours stays a string, for resolveArgs to refuse by name.
 */
export function argsFromConfig(config: Record<string, string>): ReplicatedDatabaseArgs {
    const args: Record<string, unknown> = {};
    const prefix = `${CONFIG_NAMESPACE}:`;
    for (const [key, raw] of Object.entries(config)) {
        if (!key.startsWith(prefix)) {
            continue;
        }
        const arg = key.slice(prefix.length);
        args[arg] = parseValue(arg, raw);
    }
    return args as ReplicatedDatabaseArgs;
}

function parseValue(arg: string, raw: string): unknown {
    switch (argKind(arg)) {
        case "number":
            // Anything that is not plainly a number stays a string, so that the check reports it as written.
            return /^-?[0-9]+(\.[0-9]+)?$/.test(raw.trim()) ? Number(raw) : raw;
        case "boolean":
            return raw === "true" ? true : raw === "false" ? false : raw;
        case "object":
            try {
                return JSON.parse(raw);
            } catch {
                throw new ArgError(configKey(arg), raw, "a map (write it as YAML under the key, not as a string)");
            }
        default:
            return raw;
    }
}

/** Parses and validates the config; throws an ArgError naming the config key on the first bad value. */
export function resolveConfig(config: Record<string, string>): ResolvedArgs {
    return resolveArgs(COMPONENT_NAME, argsFromConfig(config), configKey);
}

/**
 * The args for the program's component, checked first under the config keys' names: the component checks
 * them again under the args' names, which would not tell a user which line of Pulumi.<stack>.yaml to fix.
 */
export function checkedArgsFromConfig(config: Record<string, string>): ReplicatedDatabaseArgs {
    const args = argsFromConfig(config);
    resolveArgs(COMPONENT_NAME, args, configKey);
    return args;
}

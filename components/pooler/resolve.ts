/**
 * The `pooler` arg: defaults and checks. Pure; resolveArgs calls it before any resource exists.
 */
import { PoolerArgs, ResolvedPooler, ResourcesArgs } from "../args";
import { DEFAULTS, POOLER_RESOURCE_DEFAULTS } from "../argTable";
import { ArgError, SettingNamer, argName, checkBoolean, checkInteger, checkQuantity, checkSettingsMap, checkPinnedImage, parseQuantity } from "../validation";

/** PgBouncer's pool modes we offer; "statement" breaks multi-statement transactions, so it is not one. */
export const POOL_MODES = ["transaction", "session"];
/** The role PgBouncer logs in as to look the clients' password hashes up (auth_query). */
export const POOLER_ROLE = "pooler";
/** Upper bounds that catch typos (a pool of 10,000 server connections per pod is no pool). */
export const MAX_POOL_SIZE = 1000;
export const MAX_CLIENT_CONNECTIONS = 100000;
export const MAX_POOLER_REPLICAS = 20;

function isMap(v: unknown): v is Record<string, unknown> {
    return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** The pooler's container resources, each left-out field from POOLER_RESOURCE_DEFAULTS; limits at least the requests. */
export function resolvePoolerResources(given: unknown, setting: SettingNamer = argName): Required<ResourcesArgs> {
    const s = (key: string) => setting(`pooler.resources.${key}`);
    if (!isMap(given)) {
        throw new ArgError(setting("pooler.resources"), given, "a map of cpuRequest, memoryRequest, cpuLimit, memoryLimit");
    }
    const known = Object.keys(POOLER_RESOURCE_DEFAULTS);
    for (const key of Object.keys(given)) {
        if (!known.includes(key)) throw new ArgError(s(key), given[key], `one of ${known.join(", ")}`);
    }
    const r = given as ResourcesArgs;
    const d = POOLER_RESOURCE_DEFAULTS;
    const cpu = (key: keyof ResourcesArgs, v: string) => (v === "" ? v : checkQuantity(s(key), v, "1m", "CPU"));
    const mem = (key: keyof ResourcesArgs, v: string) => (v === "" ? v : checkQuantity(s(key), v, "16Mi", "memory"));
    const out = {
        cpuRequest: cpu("cpuRequest", r.cpuRequest ?? d.cpuRequest),
        memoryRequest: mem("memoryRequest", r.memoryRequest ?? d.memoryRequest),
        cpuLimit: cpu("cpuLimit", r.cpuLimit ?? d.cpuLimit),
        memoryLimit: mem("memoryLimit", r.memoryLimit ?? d.memoryLimit),
    };
    for (const [req, lim] of [["cpuRequest", "cpuLimit"], ["memoryRequest", "memoryLimit"]] as const) {
        if (out[req] !== "" && out[lim] !== "" && parseQuantity(out[lim])! < parseQuantity(out[req])!) {
            throw new ArgError(s(lim), out[lim], `at least ${s(req)} (${out[req]})`);
        }
    }
    return out;
}

/**
 * The pooler settings with their defaults. `roles` are the cluster's other role names: the pooler's own role
 * must not be one of them.
 */
export function resolvePooler(given: PoolerArgs, roles: { appUser: string; replicationUser: string }, setting: SettingNamer = argName): ResolvedPooler {
    const d = DEFAULTS.pooler;
    checkSettingsMap(setting("pooler"), given, Object.keys(d), "pooler settings");
    const s = (key: keyof PoolerArgs) => setting(`pooler.${key}`);
    const enabled = checkBoolean(s("enabled"), given.enabled ?? d.enabled);
    const poolMode = given.poolMode ?? d.poolMode;
    if (typeof poolMode !== "string" || !POOL_MODES.includes(poolMode)) {
        throw new ArgError(s("poolMode"), poolMode, POOL_MODES.map((m) => `"${m}"`).join(" or "));
    }
    const readWrite = checkBoolean(s("readWrite"), given.readWrite ?? d.readWrite);
    const readOnly = checkBoolean(s("readOnly"), given.readOnly ?? d.readOnly);
    if (enabled && !readWrite && !readOnly) {
        throw new ArgError(s("readWrite"), readWrite, `true, or ${s("readOnly")} true: an enabled pooler pools at least one Service`);
    }
    const defaultPoolSize = checkInteger(s("defaultPoolSize"), given.defaultPoolSize ?? d.defaultPoolSize, 1, MAX_POOL_SIZE);
    const maxClientConnections = checkInteger(s("maxClientConnections"), given.maxClientConnections ?? d.maxClientConnections, 1, MAX_CLIENT_CONNECTIONS);
    if (maxClientConnections < defaultPoolSize) {
        throw new ArgError(s("maxClientConnections"), maxClientConnections, `at least ${s("defaultPoolSize")} (${defaultPoolSize})`);
    }
    const replicas = checkInteger(s("replicas"), given.replicas ?? d.replicas, 1, MAX_POOLER_REPLICAS);
    const image = checkPinnedImage(s("image"), given.image ?? d.image, d.image);
    const resources = resolvePoolerResources(given.resources ?? { ...POOLER_RESOURCE_DEFAULTS }, setting);
    if (enabled) {
        for (const [arg, value] of [["appUser", roles.appUser], ["replicationUser", roles.replicationUser]] as const) {
            if (value === POOLER_ROLE) {
                throw new ArgError(setting(arg), value, `a role other than "${POOLER_ROLE}", which ${s("enabled")} reserves for the pooler`);
            }
        }
    }
    return { enabled, poolMode, readWrite, readOnly, defaultPoolSize, maxClientConnections, replicas, image, resources };
}

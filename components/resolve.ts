/**
 * resolveArgs: fills in the defaults of ./argTable.ts and checks every argument, including the rules that
 * tie several together (a storage class and static volumes, synchronous replicas and replicas, ...). Pure:
 * creates nothing, so the component, the program and the tests call it before any resource exists.
 */
import { ReplicatedDatabaseArgs, ResolvedArgs, ResourcesArgs, StaticVolumesArgs } from "./args";
import { DEFAULTS, KNOWN_ARGS } from "./argTable";
import { Engine, engineNames, getEngine, getTopology, topologyNames } from "./engines";
import { resolveBackup, resolveRestore } from "./backup/resolve";
import { resolveFailover } from "./failover";
import { resolvePatroniTiming } from "./engines/postgres/topologies/patroni/resolve";
import { resolveNetworkPolicy } from "./network/resolve";
import { TakenPort, resolveMonitoring } from "./monitoring/resolve";
import { resolveTls } from "./tls/resolve";
import { POOLER_ROLE, resolvePooler } from "./pooler/resolve";
import { BACKUP_ROLE, REWIND_ROLE } from "./naming";
import { resolveStandby } from "./standby/resolve";
import { MAX_CLUSTER_NAME, MAX_REPLICAS } from "./limits";
import {
    ArgError,
    SettingNamer,
    argName,
    checkBoolean,
    checkDnsLabel,
    checkDatabaseName,
    checkDnsSubdomain,
    checkInteger,
    checkNotNull,
    checkPinnedImage,
    checkQuantity,
    checkRoleName,
    checkToken,
    parseQuantity,
    withDefault,
} from "./validation";

const STATIC_VOLUME_TYPES = ["hostPath", "local"];
/** The values of `podAntiAffinity`: how strictly the pods keep to separate nodes and zones. */
export const POD_ANTI_AFFINITY = ["preferred", "required"];

/**
 * Fills in the defaults and validates every argument, throwing an {@link ArgError} on the first bad one.
 * Pure: creates nothing. `name` is the component's resource name; `setting` maps arg names to what the user
 * wrote (stack config keys, for the program).
 */
/** The ports the engine's pods serve in any of its topologies, with what serves each. */
function takenPorts(engine: Engine): TakenPort[] {
    const internal = Object.values(engine.topologies).flatMap((t) => t.internalPorts.map((p) => ({ port: p.port, what: p.description })));
    return [{ port: engine.port, what: "the database" }, ...internal];
}

export function resolveArgs(name: string, args: ReplicatedDatabaseArgs = {}, setting: SettingNamer = argName): ResolvedArgs {
    for (const key of Object.keys(args)) {
        if (!KNOWN_ARGS.has(key)) {
            throw new ArgError(setting(key), (args as Record<string, unknown>)[key], `one of the known settings: ${[...KNOWN_ARGS].join(", ")}`);
        }
        checkNotNull(setting(key), (args as Record<string, unknown>)[key]);
    }
    const engine = withDefault(args.engine, DEFAULTS.engine, (v) => {
        if (!engineNames().includes(v)) {
            throw new ArgError(setting("engine"), v, `one of ${engineNames().map((e) => `"${e}"`).join(", ")}`);
        }
        return v;
    });
    const clusterName = checkDnsLabel(setting("clusterName"), args.clusterName ?? name, MAX_CLUSTER_NAME);
    const namespace = checkDnsLabel(setting("namespace"), args.namespace ?? DEFAULTS.namespace);
    const replicas = checkInteger(setting("replicas"), args.replicas ?? DEFAULTS.replicas, 0, MAX_REPLICAS);
    const primaryOrdinal = withDefault(args.primaryOrdinal, DEFAULTS.primaryOrdinal, (v) => {
        if (typeof v !== "number" || !Number.isInteger(v) || v < 0 || v > replicas) {
            throw new ArgError(setting("primaryOrdinal"), v, `a pod ordinal from 0 to ${setting("replicas")} (${replicas})`);
        }
        return v;
    });
    const storageSize = checkQuantity(setting("storageSize"), args.storageSize ?? DEFAULTS.storageSize, "1Gi", "the volume size per pod");

    const storageClassName = withDefault(args.storageClassName, DEFAULTS.storageClassName, (v) => (v === "" ? v : checkDnsSubdomain(setting("storageClassName"), v)));
    const createStorageClass = withDefault(args.createStorageClass, DEFAULTS.createStorageClass, (v) => checkBoolean(setting("createStorageClass"), v));
    if (createStorageClass && storageClassName !== "") {
        throw new ArgError(
            setting("storageClassName"),
            storageClassName,
            `empty when ${setting("createStorageClass")} is true (the component names the class it creates)`,
        );
    }
    const storageProvisioner = checkToken(
        setting("storageProvisioner"),
        args.storageProvisioner ?? DEFAULTS.storageProvisioner,
        "a provisioner name such as \"rancher.io/local-path\"",
    );
    const staticVolumes = args.staticVolumes === undefined ? undefined : resolveStaticVolumes(args.staticVolumes, setting);
    if (staticVolumes && !createStorageClass && storageClassName === "") {
        throw new ArgError(
            setting("staticVolumes"),
            args.staticVolumes,
            `static volumes only with a named class: set ${setting("createStorageClass")} to true or name ${setting("storageClassName")}`,
        );
    }
    if (createStorageClass && !staticVolumes && storageProvisioner === DEFAULTS.storageProvisioner) {
        throw new ArgError(
            setting("storageProvisioner"),
            storageProvisioner,
            `a dynamic provisioner, or ${setting("staticVolumes")} set: "kubernetes.io/no-provisioner" creates no volumes by itself`,
        );
    }
    const podUpdatePolicy = withDefault(args.podUpdatePolicy, DEFAULTS.podUpdatePolicy, (v) => checkBoolean(setting("podUpdatePolicy"), v));
    const retainVolumesOnDelete = withDefault(args.retainVolumesOnDelete, DEFAULTS.retainVolumesOnDelete, (v) => checkBoolean(setting("retainVolumesOnDelete"), v));

    const image = checkToken(setting("image"), args.image ?? getEngine(engine).defaultImage, "an image reference such as \"postgres:17.6\"");
    const allowMajorVersionChange = withDefault(args.allowMajorVersionChange, DEFAULTS.allowMajorVersionChange, (v) => checkBoolean(setting("allowMajorVersionChange"), v));
    const labelerImage = checkPinnedImage(setting("labelerImage"), args.labelerImage ?? DEFAULTS.labelerImage, DEFAULTS.labelerImage);
    const resources = resolveResources(args.resources ?? {}, setting);
    const podAntiAffinity = withDefault(args.podAntiAffinity, DEFAULTS.podAntiAffinity, (v) => {
        if (!POD_ANTI_AFFINITY.includes(v)) {
            throw new ArgError(setting("podAntiAffinity"), v, POD_ANTI_AFFINITY.map((t) => `"${t}"`).join(" or "));
        }
        return v;
    });

    const ownRoles = [
        { role: REWIND_ROLE, setting: "the component's rewind role" },
        { role: BACKUP_ROLE, setting: "the backup Jobs' role" },
    ];
    const appUser = checkRoleName(setting("appUser"), args.appUser ?? DEFAULTS.appUser, ownRoles);
    const appDatabase = checkDatabaseName(setting("appDatabase"), args.appDatabase ?? DEFAULTS.appDatabase);
    const replicationUser = checkRoleName(setting("replicationUser"), args.replicationUser ?? DEFAULTS.replicationUser, [
        { role: appUser, setting: setting("appUser") },
        ...ownRoles,
    ]);
    const existingSecretName = withDefault(args.existingSecretName, DEFAULTS.existingSecretName, (v) => (v === "" ? v : checkDnsSubdomain(setting("existingSecretName"), v)));
    const passwordVersion = checkInteger(setting("passwordVersion"), args.passwordVersion ?? DEFAULTS.passwordVersion, 1, Number.MAX_SAFE_INTEGER);
    if (existingSecretName !== "" && args.passwordVersion !== undefined) {
        throw new ArgError(
            setting("passwordVersion"),
            args.passwordVersion,
            `unset when ${setting("existingSecretName")} is set (rotate the passwords in that Secret instead)`,
        );
    }
    const clusterDomain = checkDnsSubdomain(setting("clusterDomain"), args.clusterDomain ?? DEFAULTS.clusterDomain);
    const networkPolicy = resolveNetworkPolicy(args.networkPolicy ?? {}, setting);
    const tls = resolveTls(args.tls ?? {}, clusterName, setting);
    const maxSlotWalKeepSize = withDefault(args.maxSlotWalKeepSize, DEFAULTS.maxSlotWalKeepSize, (v) => {
        if (typeof v !== "string" || !/^[1-9][0-9]*(MB|GB|TB)$/.test(v)) {
            throw new ArgError(setting("maxSlotWalKeepSize"), v, "a PostgreSQL size in MB, GB or TB, such as \"2GB\"");
        }
        return v;
    });
    const cloneMaxRate = resolveCloneMaxRate(args.cloneMaxRate ?? DEFAULTS.cloneMaxRate, setting);
    const cloneFromReplicas = withDefault(args.cloneFromReplicas, DEFAULTS.cloneFromReplicas, (v) => checkBoolean(setting("cloneFromReplicas"), v));
    const synchronousReplicas = checkInteger(setting("synchronousReplicas"), args.synchronousReplicas ?? DEFAULTS.synchronousReplicas, 0, MAX_REPLICAS);
    if (synchronousReplicas > replicas) {
        throw new ArgError(
            setting("synchronousReplicas"),
            synchronousReplicas,
            `at most ${setting("replicas")} (${replicas}): commits would wait for replicas that do not exist`,
        );
    }
    const parameters = resolveParameters(args.parameters ?? { ...DEFAULTS.parameters }, setting);
    const allowUnsafeParameters = withDefault(args.allowUnsafeParameters, DEFAULTS.allowUnsafeParameters, (v) => checkBoolean(setting("allowUnsafeParameters"), v));
    const failover = resolveFailover(args, topologyNames(getEngine(engine)), setting);
    const patroni = resolvePatroniTiming(args.patroni ?? {}, failover, setting);
    const restore = resolveRestore(args.restore, { namespace, clusterName }, setting);
    const standby = resolveStandby(args.standby, { tlsEnabled: tls.enabled, restoring: restore !== undefined, namespace, clusterName }, setting);
    const archiveFeed = (standby?.archiveStanza ?? "") !== "";
    const backup = resolveBackup(args.backup ?? {}, { namespace, clusterName, storageSize }, restore !== undefined || archiveFeed, setting);
    if (backup.repositoryUsed && args.image === undefined) {
        const why = backup.enabled
            ? `${setting("backup.enabled")} is true`
            : restore !== undefined
              ? `${setting("restore")} is set`
              : `${setting("standby.archiveFromClusterName")} is set`;
        throw new ArgError(
            setting("image"),
            "(unset)",
            `an image with pgBackRest when ${why}: ` +
                "the default image has none (images/postgres/Dockerfile builds one from it)",
        );
    }

    const pooler = resolvePooler(args.pooler ?? {}, { appUser, replicationUser }, setting);
    if (tls.enabled && tls.source === "secret" && pooler.enabled && tls.poolerSecretName === "") {
        throw new ArgError(
            setting("tls.poolerSecretName"),
            "",
            `a Secret with the pooler's own certificate (tls.crt, tls.key, ca.crt) when ${setting("tls.source")} is "secret" and ` +
                `${setting("pooler.enabled")} is true, so that the pooler's pods never hold the servers' key ` +
                `(${setting("tls.secretName")}'s name again shares it, knowingly)`,
        );
    }
    // The exporter's role is none of the others, the pooler's included.
    const monitoring = resolveMonitoring(
        args.monitoring ?? {},
        [
            { role: appUser, setting: setting("appUser") },
            { role: replicationUser, setting: setting("replicationUser") },
            { role: POOLER_ROLE, setting: `the pooler's role` },
            ...ownRoles,
        ],
        takenPorts(getEngine(engine)),
        setting,
    );
    if (staticVolumes?.type === "local" && podAntiAffinity === "required" && new Set(staticVolumes.nodeNames).size < replicas + 1) {
        throw new ArgError(
            setting("staticVolumes.nodeNames"),
            staticVolumes.nodeNames,
            `at least ${replicas + 1} different nodes (one per pod: ${setting("replicas")} + 1) when ${setting("podAntiAffinity")} is "required": ` +
                `a "local" volume pins its pod to its node, so two pods on one node would stay Pending for good`,
        );
    }

    const resolved: ResolvedArgs = {
        engine, clusterName, namespace, replicas, primaryOrdinal, storageSize, storageClassName, createStorageClass,
        storageProvisioner, staticVolumes, retainVolumesOnDelete, podUpdatePolicy, image, allowMajorVersionChange, labelerImage, resources, podAntiAffinity, appUser,
        appDatabase, replicationUser, existingSecretName, passwordVersion, clusterDomain, networkPolicy, tls, maxSlotWalKeepSize,
        cloneMaxRate, cloneFromReplicas, synchronousReplicas, parameters, allowUnsafeParameters, failover, patroni, backup, restore, pooler, standby, monitoring,
    };
    getTopology(getEngine(engine), failover).validate(resolved, args, setting);
    getEngine(engine).validate(resolved, setting);
    return resolved;
}

/**
 * `cloneMaxRate` as pg_basebackup's --max-rate takes it: kB/s, or a number with a `k` or `M` suffix, from 32 kB/s to
 * 1024 MB/s (its own bounds, so that a clone is never refused at run time); "" for no limit.
 */
export function resolveCloneMaxRate(value: string, setting: SettingNamer = argName): string {
    if (value === "") return value;
    const m = /^([0-9]{1,7})([kM]?)$/.exec(String(value));
    const kb = m ? Number(m[1]) * (m[2] === "M" ? 1024 : 1) : NaN;
    if (!(kb >= 32 && kb <= 1048576)) {
        throw new ArgError(setting("cloneMaxRate"), value, "a rate from 32k to 1024M, such as \"50M\" (a bare number is kB/s), or \"\" for no limit");
    }
    return value;
}

/** The static volumes with their fields' defaults; `type` "local" needs node names. */
export function resolveStaticVolumes(v: StaticVolumesArgs, setting: SettingNamer = argName): Required<StaticVolumesArgs> {
    const type = v.type ?? DEFAULTS.staticVolumes.type;
    if (!STATIC_VOLUME_TYPES.includes(type)) {
        throw new ArgError(setting("staticVolumes.type"), type, STATIC_VOLUME_TYPES.map((t) => `"${t}"`).join(" or "));
    }
    const basePath = v.basePath ?? DEFAULTS.staticVolumes.basePath;
    if (typeof basePath !== "string" || !/^\/[^\s]*$/.test(basePath) || basePath === "/") {
        throw new ArgError(setting("staticVolumes.basePath"), basePath, "an absolute directory path other than /, without spaces");
    }
    const nodeNames = v.nodeNames ?? [...DEFAULTS.staticVolumes.nodeNames];
    if (!Array.isArray(nodeNames)) {
        throw new ArgError(setting("staticVolumes.nodeNames"), nodeNames, "a list of node names");
    }
    nodeNames.forEach((n, i) => checkDnsSubdomain(setting(`staticVolumes.nodeNames[${i}]`), n));
    if (type === "local" && nodeNames.length === 0) {
        throw new ArgError(setting("staticVolumes.nodeNames"), nodeNames, "at least one node name: a \"local\" volume must be pinned to its node");
    }
    return { type, basePath: basePath.replace(/\/+$/, ""), nodeNames };
}

/** The compute resources with their fields' defaults; a limit must be at least its request. */
export function resolveResources(r: ResourcesArgs, setting: SettingNamer = argName): Required<ResourcesArgs> {
    const d = DEFAULTS.resources;
    const cpu = (key: keyof ResourcesArgs, v: string) => (v === "" ? v : checkQuantity(setting(`resources.${key}`), v, "1m", "CPU", "500m"));
    const mem = (key: keyof ResourcesArgs, v: string) => (v === "" ? v : checkQuantity(setting(`resources.${key}`), v, "64Mi", "memory", "512Mi"));
    const out = {
        cpuRequest: cpu("cpuRequest", r.cpuRequest ?? d.cpuRequest),
        memoryRequest: mem("memoryRequest", r.memoryRequest ?? d.memoryRequest),
        cpuLimit: cpu("cpuLimit", r.cpuLimit ?? d.cpuLimit),
        memoryLimit: mem("memoryLimit", r.memoryLimit ?? d.memoryLimit),
    };
    const pairs: [keyof ResourcesArgs, keyof ResourcesArgs][] = [["cpuRequest", "cpuLimit"], ["memoryRequest", "memoryLimit"]];
    for (const [req, lim] of pairs) {
        if (out[req] !== "" && out[lim] !== "" && parseQuantity(out[lim])! < parseQuantity(out[req])!) {
            throw new ArgError(setting(`resources.${lim}`), out[lim], `at least ${setting(`resources.${req}`)} (${out[req]})`);
        }
    }
    return out;
}

/** Server parameters: lower-case names, string values without quotes or line breaks. */
export function resolveParameters(p: { [key: string]: string }, setting: SettingNamer = argName): { [key: string]: string } {
    if (typeof p !== "object" || p === null || Array.isArray(p)) {
        throw new ArgError(setting("parameters"), p, "a map of parameter names to string values");
    }
    for (const [key, value] of Object.entries(p)) {
        if (!/^[a-z_][a-z0-9_.]*$/.test(key)) {
            throw new ArgError(setting(`parameters.${key}`), key, "a parameter name: lower case letters, digits, '_' and '.'");
        }
        if (typeof value !== "string" || /[\n\r']/.test(value)) {
            throw new ArgError(setting(`parameters.${key}`), value, "a string without quotes or line breaks");
        }
    }
    return { ...p };
}

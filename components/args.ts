/**
 * The component's arguments: their documentation, their defaults and their validation, side by side.
 *
 * Every member is a plain value (no `pulumi.Input`, no unions, no functions) so that the arguments are
 * known before any resource is created and the component stays consumable from other Pulumi languages.
 */
import { engineNames, getEngine, getTopology, topologyNames } from "./engines";
import { DEFAULT_FAILOVER, resolveFailover } from "./failover";
import { MAX_CLUSTER_NAME, MAX_REPLICAS } from "./limits";
import {
    ArgError,
    SettingNamer,
    argName,
    checkBoolean,
    checkDnsLabel,
    checkDnsSubdomain,
    checkIdentifier,
    checkInteger,
    checkQuantity,
    checkToken,
    parseQuantity,
    withDefault,
} from "./validation";

/** Static PersistentVolumes, for clusters without a dynamic provisioner (kind, minikube, bare metal). */
export interface StaticVolumesArgs {
    /**
     * The volume source: "hostPath" (a directory on the node, created when missing) or "local"
     * (a pre-created directory or disk, pinned to a node by node affinity).
     * @default "hostPath"
     */
    type?: string;
    /**
     * The directory on the node under which each pod gets `<namespace>-<clusterName>-<ordinal>`.
     * @default "/var/lib/replicated-db"
     */
    basePath?: string;
    /**
     * The nodes that hold the volumes: the volume of ordinal i is pinned to `nodeNames[i % nodeNames.length]`.
     * Required for "local"; optional for "hostPath" (no pinning when empty).
     * @default []
     */
    nodeNames?: string[];
}

/** Compute resources of the database container. */
export interface ResourcesArgs {
    /** CPU request. @default "250m" */
    cpuRequest?: string;
    /** Memory request. @default "512Mi" */
    memoryRequest?: string;
    /** CPU limit; empty for none (throttling a database hurts latency more than it saves). @default "" */
    cpuLimit?: string;
    /** Memory limit. @default "1Gi" */
    memoryLimit?: string;
}

/** The arguments of {@link ReplicatedDatabase}. */
export interface ReplicatedDatabaseArgs {
    /**
     * The database engine. Only "postgresql" exists today; the engine module keeps everything
     * database-specific (image, scripts, probes, connection strings) behind one interface.
     * @default "postgresql"
     */
    engine?: string;
    /**
     * The fixed name of the StatefulSet, and the prefix of every other object's name. It is fixed (not
     * auto-named) so that a replaced StatefulSet finds its volume claims, and their data, again.
     * @default the component's resource name
     */
    clusterName?: string;
    /** The namespace, which must exist. @default "default" */
    namespace?: string;
    /** The number of read replicas; the StatefulSet runs `replicas + 1` pods. @default 2 */
    replicas?: number;
    /**
     * The ordinal of the pod that is the primary. Changing it on a running cluster is a switchover (or,
     * with the primary's pod gone, a failover): the pods read it live from their ConfigMap, the old primary
     * stops taking writes and rejoins as a replica (pg_rewind), the chosen replica promotes once no other pod
     * accepts writes, the others follow it. See README, "Switchover and failover".
     * @default 0
     */
    primaryOrdinal?: number;
    /** The volume size of every pod, a Kubernetes quantity. @default "10Gi" */
    storageSize?: string;
    /**
     * An existing StorageClass for the volumes. Leave empty for the cluster's default class, or set
     * `createStorageClass`.
     * @default "" (the cluster default)
     */
    storageClassName?: string;
    /**
     * Create a StorageClass of our own (reclaim policy Retain, volume expansion allowed,
     * WaitForFirstConsumer), named `<namespace>-<clusterName>`.
     * @default false
     */
    createStorageClass?: boolean;
    /**
     * The provisioner of the created StorageClass. "kubernetes.io/no-provisioner" needs `staticVolumes`.
     * @default "kubernetes.io/no-provisioner"
     */
    storageProvisioner?: string;
    /**
     * Create one PersistentVolume and its PersistentVolumeClaim per pod, under the names the StatefulSet's
     * volumeClaimTemplates expect, so that the StatefulSet adopts them. Leave unset with a dynamic provisioner.
     * @default undefined (no static volumes)
     */
    staticVolumes?: StaticVolumesArgs;
    /**
     * Keep the PersistentVolumes and claims that this component created when it is deleted
     * (`pulumi destroy` or removal from the program). Set false only to throw the data away.
     * @default true
     */
    retainVolumesOnDelete?: boolean;
    /**
     * Opt into the documented major-version upgrade (README, Day-2 operations): with a new major in `image`,
     * each pod sets its old data directory aside on its volume (renamed, never deleted) and starts fresh:
     * the primary initialises an empty cluster, to be restored from a dump taken before; replicas clone it.
     * Without it, a major-version change is refused before anything changes. Unset it after the upgrade.
     * @default false
     */
    allowMajorVersionChange?: boolean;
    /** The database image; its tag's major version must be supported by the engine. @default "docker.io/library/postgres:17.6-bookworm" */
    image?: string;
    /** The image of the sidecar that labels each pod with its role (`failover: "manual"` only). @default "docker.io/curlimages/curl:8.11.1" */
    labelerImage?: string;
    /** Compute resources of the database container. @default see {@link ResourcesArgs} */
    resources?: ResourcesArgs;
    /** The application role. @default "app" */
    appUser?: string;
    /** The application database, owned by `appUser`. @default "app" */
    appDatabase?: string;
    /** The replication role. @default "replicator" */
    replicationUser?: string;
    /**
     * An existing Secret (keys `superuser-password`, `replication-password`, `app-password`) to use instead
     * of generating passwords.
     * @default "" (generate them)
     */
    existingSecretName?: string;
    /** Bump to generate new passwords; they roll out without restarting the pods. @default 1 */
    passwordVersion?: number;
    /** The cluster's DNS domain, for the pod and Service host names. @default "cluster.local" */
    clusterDomain?: string;
    /**
     * The most WAL a replication slot may hold back on the primary, so that a replica that is gone for
     * long cannot fill the primary's disk (it re-clones instead). A PostgreSQL size such as "2GB".
     * @default "1GB"
     */
    maxSlotWalKeepSize?: string;
    /**
     * Synchronous replication: a commit returns only once this many replicas (any of them) have it on
     * disk, so that a committed write survives the loss of the primary. 0 is asynchronous replication:
     * faster commits, but the last moments of writes can be lost with the primary. At most `replicas`,
     * and fewer leaves room for a replica to be down without stopping the writes.
     * @default 0
     */
    synchronousReplicas?: number;
    /** Extra server parameters, written to the server's configuration file. @default {} */
    parameters?: { [key: string]: string };
    /**
     * Who decides which pod is the primary. One of:
     * - "manual": the config does: `primaryOrdinal` names the primary, and changing it is a switchover (or a
     *   failover, with the primary's pod gone); a role-labeler sidecar labels the pods for the Services.
     * - "patroni": Patroni runs in every pod, elects the primary through the Kubernetes API, promotes the
     *   most advanced healthy replica when the primary is gone, rewinds a returning old primary and labels
     *   the pods for the Services. Needs an `image` with Patroni 3.3 or newer (images/patroni/Dockerfile
     *   builds one from the official image); `primaryOrdinal` then stays 0 (switch over with
     *   `patronictl switchover`). See README, "Automated failover".
     * @default "manual"
     */
    failover?: string;
    /**
     * Deprecated alias of `failover`, removed in the next release: `true` is `failover: "patroni"`, `false`
     * is `failover: "manual"`. Setting it logs a warning; setting both differently is an error.
     * @deprecated Use `failover` ("manual" or "patroni").
     * @default false
     */
    automatedFailover?: boolean;
}

/** The arguments with every default filled in and every value checked. */
export interface ResolvedArgs {
    engine: string;
    clusterName: string;
    namespace: string;
    replicas: number;
    primaryOrdinal: number;
    storageSize: string;
    storageClassName: string;
    createStorageClass: boolean;
    storageProvisioner: string;
    staticVolumes: Required<StaticVolumesArgs> | undefined;
    retainVolumesOnDelete: boolean;
    image: string;
    allowMajorVersionChange: boolean;
    labelerImage: string;
    resources: Required<ResourcesArgs>;
    appUser: string;
    appDatabase: string;
    replicationUser: string;
    existingSecretName: string;
    passwordVersion: number;
    clusterDomain: string;
    maxSlotWalKeepSize: string;
    synchronousReplicas: number;
    parameters: { [key: string]: string };
    /** The engine's topology that decides the primary ("manual" or "patroni" for PostgreSQL). */
    failover: string;
}

export const DEFAULTS = {
    engine: "postgresql",
    namespace: "default",
    replicas: 2,
    storageSize: "10Gi",
    storageProvisioner: "kubernetes.io/no-provisioner",
    labelerImage: "docker.io/curlimages/curl:8.11.1",
    resources: { cpuRequest: "250m", memoryRequest: "512Mi", cpuLimit: "", memoryLimit: "1Gi" },
    staticVolumes: { type: "hostPath", basePath: "/var/lib/replicated-db", nodeNames: [] as string[] },
    appUser: "app",
    appDatabase: "app",
    replicationUser: "replicator",
    passwordVersion: 1,
    clusterDomain: "cluster.local",
    maxSlotWalKeepSize: "1GB",
    failover: DEFAULT_FAILOVER,
} as const;

const STATIC_VOLUME_TYPES = ["hostPath", "local"];
/** Every argument name; an unknown key is refused (a typo must not be silently ignored). */
export const KNOWN_ARGS: ReadonlySet<string> = new Set<string>([
    "engine", "clusterName", "namespace", "replicas", "primaryOrdinal", "storageSize", "storageClassName", "createStorageClass",
    "storageProvisioner", "staticVolumes", "retainVolumesOnDelete", "image", "allowMajorVersionChange", "labelerImage", "resources",
    "appUser", "appDatabase", "replicationUser", "existingSecretName", "passwordVersion", "clusterDomain",
    "maxSlotWalKeepSize", "synchronousReplicas", "parameters", "failover", "automatedFailover",
]);

/**
 * Fills in the defaults and validates every argument, throwing an {@link ArgError} on the first bad one.
 * Pure: creates nothing. `name` is the component's resource name; `setting` maps arg names to what the user
 * wrote (stack config keys, for the program).
 */
export function resolveArgs(name: string, args: ReplicatedDatabaseArgs = {}, setting: SettingNamer = argName): ResolvedArgs {
    for (const key of Object.keys(args)) {
        if (!KNOWN_ARGS.has(key)) {
            throw new ArgError(setting(key), (args as Record<string, unknown>)[key], `one of the known settings: ${[...KNOWN_ARGS].join(", ")}`);
        }
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
    const primaryOrdinal = withDefault(args.primaryOrdinal, 0, (v) => {
        if (typeof v !== "number" || !Number.isInteger(v) || v < 0 || v > replicas) {
            throw new ArgError(setting("primaryOrdinal"), v, `a pod ordinal from 0 to ${setting("replicas")} (${replicas})`);
        }
        return v;
    });
    const storageSize = checkQuantity(setting("storageSize"), args.storageSize ?? DEFAULTS.storageSize, "1Gi", "the volume size per pod");

    const storageClassName = withDefault(args.storageClassName, "", (v) => (v === "" ? v : checkDnsSubdomain(setting("storageClassName"), v)));
    const createStorageClass = withDefault(args.createStorageClass, false, (v) => checkBoolean(setting("createStorageClass"), v));
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
    const retainVolumesOnDelete = withDefault(args.retainVolumesOnDelete, true, (v) => checkBoolean(setting("retainVolumesOnDelete"), v));

    const image = checkToken(setting("image"), args.image ?? getEngine(engine).defaultImage, "an image reference such as \"postgres:17.6\"");
    const allowMajorVersionChange = withDefault(args.allowMajorVersionChange, false, (v) => checkBoolean(setting("allowMajorVersionChange"), v));
    const labelerImage = checkToken(setting("labelerImage"), args.labelerImage ?? DEFAULTS.labelerImage, "an image reference with a shell and curl");
    const resources = resolveResources(args.resources ?? {}, setting);

    const appUser = checkIdentifier(setting("appUser"), args.appUser ?? DEFAULTS.appUser);
    const appDatabase = checkIdentifier(setting("appDatabase"), args.appDatabase ?? DEFAULTS.appDatabase);
    const replicationUser = checkIdentifier(setting("replicationUser"), args.replicationUser ?? DEFAULTS.replicationUser);
    if (replicationUser === appUser) {
        throw new ArgError(setting("replicationUser"), replicationUser, `a role other than ${setting("appUser")}`);
    }
    const existingSecretName = withDefault(args.existingSecretName, "", (v) => (v === "" ? v : checkDnsSubdomain(setting("existingSecretName"), v)));
    const passwordVersion = checkInteger(setting("passwordVersion"), args.passwordVersion ?? DEFAULTS.passwordVersion, 1, Number.MAX_SAFE_INTEGER);
    if (existingSecretName !== "" && args.passwordVersion !== undefined) {
        throw new ArgError(
            setting("passwordVersion"),
            args.passwordVersion,
            `unset when ${setting("existingSecretName")} is set (rotate the passwords in that Secret instead)`,
        );
    }
    const clusterDomain = checkDnsSubdomain(setting("clusterDomain"), args.clusterDomain ?? DEFAULTS.clusterDomain);
    const maxSlotWalKeepSize = withDefault(args.maxSlotWalKeepSize, DEFAULTS.maxSlotWalKeepSize, (v) => {
        if (typeof v !== "string" || !/^[1-9][0-9]*(MB|GB|TB)$/.test(v)) {
            throw new ArgError(setting("maxSlotWalKeepSize"), v, "a PostgreSQL size in MB, GB or TB, such as \"2GB\"");
        }
        return v;
    });
    const synchronousReplicas = checkInteger(setting("synchronousReplicas"), args.synchronousReplicas ?? 0, 0, MAX_REPLICAS);
    if (synchronousReplicas > replicas) {
        throw new ArgError(
            setting("synchronousReplicas"),
            synchronousReplicas,
            `at most ${setting("replicas")} (${replicas}): commits would wait for replicas that do not exist`,
        );
    }
    const parameters = resolveParameters(args.parameters ?? {}, setting);
    const failover = resolveFailover(args, topologyNames(getEngine(engine)), setting);

    const resolved: ResolvedArgs = {
        engine, clusterName, namespace, replicas, primaryOrdinal, storageSize, storageClassName, createStorageClass,
        storageProvisioner, staticVolumes, retainVolumesOnDelete, image, allowMajorVersionChange, labelerImage, resources, appUser,
        appDatabase, replicationUser, existingSecretName, passwordVersion, clusterDomain, maxSlotWalKeepSize,
        synchronousReplicas, parameters, failover,
    };
    getTopology(getEngine(engine), failover).validate(resolved, args, setting);
    getEngine(engine).validate(resolved, setting);
    return resolved;
}

function resolveStaticVolumes(v: StaticVolumesArgs, setting: SettingNamer): Required<StaticVolumesArgs> {
    const type = v.type ?? DEFAULTS.staticVolumes.type;
    if (!STATIC_VOLUME_TYPES.includes(type)) {
        throw new ArgError(setting("staticVolumes.type"), type, STATIC_VOLUME_TYPES.map((t) => `"${t}"`).join(" or "));
    }
    const basePath = v.basePath ?? DEFAULTS.staticVolumes.basePath;
    if (typeof basePath !== "string" || !/^\/[^\s]*$/.test(basePath) || basePath === "/") {
        throw new ArgError(setting("staticVolumes.basePath"), basePath, "an absolute directory path other than /, without spaces");
    }
    const nodeNames = v.nodeNames ?? [];
    if (!Array.isArray(nodeNames)) {
        throw new ArgError(setting("staticVolumes.nodeNames"), nodeNames, "a list of node names");
    }
    nodeNames.forEach((n, i) => checkDnsSubdomain(setting(`staticVolumes.nodeNames[${i}]`), n));
    if (type === "local" && nodeNames.length === 0) {
        throw new ArgError(setting("staticVolumes.nodeNames"), nodeNames, "at least one node name: a \"local\" volume must be pinned to its node");
    }
    return { type, basePath: basePath.replace(/\/+$/, ""), nodeNames };
}

function resolveResources(r: ResourcesArgs, setting: SettingNamer): Required<ResourcesArgs> {
    const d = DEFAULTS.resources;
    const cpu = (key: keyof ResourcesArgs, v: string) => (v === "" ? v : checkQuantity(setting(`resources.${key}`), v, "1m", "CPU"));
    const mem = (key: keyof ResourcesArgs, v: string) => (v === "" ? v : checkQuantity(setting(`resources.${key}`), v, "64Mi", "memory"));
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

function resolveParameters(p: { [key: string]: string }, setting: SettingNamer): { [key: string]: string } {
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

/**
 * The one table of the component's arguments: for each, how the stack config spells and types it, its
 * default, and what is allowed in words. KNOWN_ARGS, DEFAULTS and the stack-config reader (program/config.ts)
 * are derived from it; tests/unit/arg-table.test.ts holds the `@default`s of ./args.ts to it, and
 * scripts/gen-docs.ts writes docs/configuration.md's "Configuration reference" from it. The `satisfies`
 * clauses make the compiler refuse a table that misses an arg of the interface or names one it does not have.
 */
import type {
    BackupArgs,
    MonitoringArgs,
    NetworkPeerArgs,
    NetworkPolicyArgs,
    PatroniArgs,
    PoolerArgs,
    ReplicatedDatabaseArgs,
    ResourcesArgs,
    RestoreArgs,
    StandbyArgs,
    StaticVolumesArgs,
    TlsArgs,
} from "./args";
import { DEFAULT_FAILOVER } from "./failover";

/** How a stack config value is written: Pulumi hands a program strings, with maps and lists as JSON. */
export type ArgKind = "string" | "number" | "boolean" | "object";

export interface FieldSpec {
    /** The value used when the field is left out; undefined when there is none (then `defaultNote` says what happens). */
    readonly default?: unknown;
    /** Words after the default value, or instead of it when there is none. */
    readonly defaultNote?: string;
}

export interface ArgSpec extends FieldSpec {
    readonly kind: ArgKind;
    /** What is allowed, in words: the "allowed" column of docs/configuration.md. */
    readonly allowed: string;
    /** The fields of an object arg, each with its own default. */
    readonly fields?: Readonly<Record<string, FieldSpec>>;
}

export const STATIC_VOLUME_FIELDS = {
    type: { default: "hostPath" },
    basePath: { default: "/var/lib/replicated-db" },
    nodeNames: { default: [] as readonly string[] },
} as const satisfies Record<keyof StaticVolumesArgs, FieldSpec>;

export const RESOURCE_FIELDS = {
    cpuRequest: { default: "250m" },
    memoryRequest: { default: "512Mi" },
    cpuLimit: { default: "" },
    memoryLimit: { default: "1Gi" },
} as const satisfies Record<keyof ResourcesArgs, FieldSpec>;

export const BACKUP_FIELDS = {
    enabled: { default: false },
    repositoryType: { default: "s3" },
    repositoryPath: { default: "/pgbackrest" },
    s3Bucket: { default: "" },
    s3Endpoint: { default: "" },
    s3Region: { default: "us-east-1" },
    s3UriStyle: { default: "host" },
    s3VerifyTls: { default: true },
    s3CredentialsSecret: { default: "" },
    volumeSize: { default: "20Gi" },
    volumeStorageClassName: { default: "", defaultNote: "(the cluster default)" },
    volumeClaimName: { default: "" },
    fullSchedule: { default: "0 1 * * 0" },
    diffSchedule: { default: "0 1 * * 1-6" },
    retentionFull: { default: 2 },
    compression: { default: "zst" },
    encryptionSecret: { default: "", defaultNote: "(not encrypted)" },
    archiveQueueMax: { default: "" },
    archiveTimeoutSeconds: { default: 60 },
    jobDeadlineSeconds: { default: 43200 },
    replicasFromRepository: { default: true },
} as const satisfies Record<keyof BackupArgs, FieldSpec>;

export const RESTORE_FIELDS = {
    fromClusterName: { default: "" },
    fromNamespace: { default: "", defaultNote: "(this cluster's namespace)" },
    targetType: { default: "latest" },
    target: { default: "" },
} as const satisfies Record<keyof RestoreArgs, FieldSpec>;

export const NETWORK_PEER_FIELDS = {
    podLabels: { default: {} as Readonly<Record<string, string>> },
    namespaceLabels: { defaultNote: "unset (the cluster's namespace)" },
} as const satisfies Record<keyof NetworkPeerArgs, FieldSpec>;

export const NETWORK_POLICY_FIELDS = {
    enabled: { default: true },
    allowedClients: { default: [{ podLabels: {} }] as readonly NetworkPeerArgs[] },
    dnsServers: {
        default: [
            { podLabels: { "k8s-app": "kube-dns" }, namespaceLabels: { "kubernetes.io/metadata.name": "kube-system" } },
        ] as readonly NetworkPeerArgs[],
    },
    dnsPort: { default: 53 },
    apiServerCidrs: { default: ["0.0.0.0/0"] as readonly string[] },
    backupRepositoryCidrs: { default: ["0.0.0.0/0"] as readonly string[] },
    allowedClientCidrs: { default: [] as readonly string[] },
} as const satisfies Record<keyof NetworkPolicyArgs, FieldSpec>;

export const TLS_FIELDS = {
    enabled: { default: true },
    source: { default: "generated" },
    issuerName: { default: "" },
    issuerKind: { default: "Issuer" },
    secretName: { default: "" },
    validityDays: { default: 365 },
    renewBeforeDays: { default: 30 },
    extraDnsNames: { default: [] as readonly string[] },
    poolerSecretName: { default: "" },
} as const satisfies Record<keyof TlsArgs, FieldSpec>;

/** The pooler's container resources when `pooler.resources` leaves a field out (PgBouncer is small). */
export const POOLER_RESOURCE_DEFAULTS = { cpuRequest: "50m", memoryRequest: "64Mi", cpuLimit: "", memoryLimit: "128Mi" } as const;

export const POOLER_FIELDS = {
    enabled: { default: false },
    poolMode: { default: "transaction" },
    readWrite: { default: true },
    readOnly: { default: false },
    defaultPoolSize: { default: 20 },
    maxClientConnections: { default: 1000 },
    replicas: { default: 2 },
    image: { default: "ghcr.io/cloudnative-pg/pgbouncer:1.24.0" },
    resources: { default: POOLER_RESOURCE_DEFAULTS },
} as const satisfies Record<keyof PoolerArgs, FieldSpec>;
export const STANDBY_FIELDS = {
    enabled: { default: false },
    sourceHosts: { default: [] as readonly string[] },
    sourcePort: { default: 5432 },
    replicationSecretName: { default: "" },
    sourceCaCertificate: { default: "" },
    sourceCidrs: { default: ["0.0.0.0/0"] as readonly string[] },
    archiveFromClusterName: { default: "" },
    archiveFromNamespace: { default: "", defaultNote: "(this cluster's namespace)" },
} as const satisfies Record<keyof StandbyArgs, FieldSpec>;
/** Patroni's own defaults (checked by engines/postgres/topologies/patroni/resolve.ts). */
export const PATRONI_FIELDS = {
    ttl: { default: 30 },
    loopWait: { default: 10 },
    retryTimeout: { default: 10 },
    primaryStartTimeout: { default: 300 },
} as const satisfies Record<keyof PatroniArgs, FieldSpec>;
export const MONITORING_FIELDS = {
    enabled: { default: true },
    exporterImage: { default: "quay.io/prometheuscommunity/postgres-exporter:v0.16.0" },
    user: { default: "monitor" },
    port: { default: 9187 },
    prometheusOperator: { default: false },
    prometheusLabels: { default: {} as Readonly<Record<string, string>> },
    // Prometheus pods of the cluster's own namespace only: anyone who may start a pod so labelled elsewhere would
    // reach the exporter (and Patroni's API). A monitoring namespace is named in docs/monitoring.md.
    scrapers: { default: [{ podLabels: { "app.kubernetes.io/name": "prometheus" } }] as readonly NetworkPeerArgs[] },
    replayLagSeconds: { default: 60 },
    slotWalPercent: { default: 80 },
    diskUsedPercent: { default: 85 },
    backupMaxAgeHours: { default: 48 },
    grafanaDashboard: { default: false },
} as const satisfies Record<keyof MonitoringArgs, FieldSpec>;

type Defaults<T extends Record<string, FieldSpec>> = { readonly [K in keyof T]: T[K]["default"] };

/** The defaults of a table's fields, as one object. */
export function defaultsOf<T extends Record<string, FieldSpec>>(table: T): Defaults<T> {
    return Object.fromEntries(Object.entries(table).map(([k, f]) => [k, f.default])) as Defaults<T>;
}

/** In the order of docs/configuration.md's table. */
export const ARGS = {
    replicas: {
        kind: "number",
        default: 2,
        allowed: "read replicas, a whole number from 0 to 30; the StatefulSet runs `replicas + 1` pods",
    },
    primaryOrdinal: {
        kind: "number",
        default: 0,
        allowed: "the ordinal of the primary pod, 0 to `replicas`; changing it is a switchover (Day-2)",
    },
    storageSize: { kind: "string", default: "10Gi", allowed: "volume size per pod, a Kubernetes quantity of at least `1Gi`" },
    namespace: { kind: "string", default: "default", allowed: "an existing namespace (DNS-1123 label)" },
    clusterName: {
        kind: "string",
        defaultNote: "the component's resource name",
        allowed: "DNS-1123 label of at most 52 characters; prefix of every object's name (the program's component is `db`)",
    },
    engine: { kind: "string", default: "postgresql", allowed: "`postgresql` (the only engine so far)" },
    allowMajorVersionChange: { kind: "boolean", default: false, allowed: "`true` only for the documented major upgrade (Day-2)" },
    image: {
        kind: "string",
        // The PostgreSQL engine's defaultImage (a test holds them together; another engine brings its own).
        default: "docker.io/library/postgres:17.6-bookworm",
        allowed: "an image whose tag starts with major 14–18 (no `latest`: a floating tag could change the major under a running cluster)",
    },
    storageClassName: { kind: "string", default: "", defaultNote: "(the cluster default)", allowed: "an existing StorageClass" },
    createStorageClass: {
        kind: "boolean",
        default: false,
        allowed: "`true` to create `<namespace>-<clusterName>` (Retain, expandable, WaitForFirstConsumer); then `storageClassName` must be empty",
    },
    storageProvisioner: {
        kind: "string",
        default: "kubernetes.io/no-provisioner",
        allowed: "the created class's provisioner; `no-provisioner` needs `staticVolumes`",
    },
    staticVolumes: {
        kind: "object",
        defaultNote: "unset (no static volumes)",
        allowed:
            "map: `type` (`hostPath` \\| `local`, default `hostPath`), `basePath` (default `/var/lib/replicated-db`; pod i uses " +
            "`<basePath>/<namespace>-<cluster>-<i>`), `nodeNames` (list; required for `local`)",
        fields: STATIC_VOLUME_FIELDS,
    },
    retainVolumesOnDelete: {
        kind: "boolean",
        default: true,
        allowed: "`false` lets `pulumi destroy` (or a scale-down) delete the static PVs and claims",
    },
    podUpdatePolicy: {
        kind: "boolean",
        default: true,
        allowed: "`false` where the deployer may not create cluster-scoped objects: then RBAC alone bounds what the pods' account may change on pods",
    },
    resources: {
        kind: "object",
        default: defaultsOf(RESOURCE_FIELDS),
        allowed: "quantities; a field left out keeps its default; limits at least the requests; `shared_buffers` is a quarter of `memoryLimit`",
        fields: RESOURCE_FIELDS,
    },
    podAntiAffinity: {
        kind: "string",
        default: "preferred",
        allowed:
            "`preferred` (spread over nodes and zones where possible; schedules on one node) or `required` (one pod per node, " +
            "zones within one pod of each other: needs `replicas + 1` nodes labelled `topology.kubernetes.io/zone`)",
    },
    appUser: { kind: "string", default: "app", allowed: "a lower-case identifier; not `postgres` nor a `pg_` name" },
    appDatabase: { kind: "string", default: "app", allowed: "a lower-case identifier, owned by `appUser`; not `postgres`, `template0`, `template1`" },
    replicationUser: { kind: "string", default: "replicator", allowed: "a lower-case identifier other than `appUser`; not `postgres` nor a `pg_` name" },
    existingSecretName: {
        kind: "string",
        default: "",
        defaultNote: "(generate them)",
        allowed:
            "a Secret with keys `superuser-password`, `replication-password`, `app-password`, `rewind-password`; also `monitoring-password` with monitoring on, " +
            "`pooler-password` with the pooler, `patroni-api-password` with `failover: patroni`, `backup-password` with `backup.enabled`",
    },
    passwordVersion: { kind: "number", default: 1, allowed: "bump to generate new passwords (not with `existingSecretName`)" },
    clusterDomain: { kind: "string", default: "cluster.local", allowed: "the cluster's DNS domain" },
    networkPolicy: {
        kind: "object",
        defaultNote: "on",
        allowed:
            "map: `enabled`, `allowedClients` (list of `{podLabels, namespaceLabels}`; default: the pods of the cluster's " +
            "namespace), `dnsServers`, `dnsPort`, `apiServerCidrs`, `backupRepositoryCidrs`, `allowedClientCidrs`: see \"Network policy\"",
        fields: NETWORK_POLICY_FIELDS,
    },
    tls: {
        kind: "object",
        defaultNote: "on",
        allowed:
            "map: `enabled`, `source` (`generated` \\| `certManager` \\| `secret`), `issuerName`, `issuerKind` (`Issuer` \\| " +
            "`ClusterIssuer`), `secretName`, `validityDays`, `renewBeforeDays`, `extraDnsNames`, `poolerSecretName`: see \"Encryption in transit\"",
        fields: TLS_FIELDS,
    },
    maxSlotWalKeepSize: {
        kind: "string",
        default: "1GB",
        allowed: "most WAL one replica's slot may hold on the primary (`MB`/`GB`/`TB`)",
    },
    cloneMaxRate: {
        kind: "string",
        default: "",
        allowed: "a replica clone's read rate, as pg_basebackup's `--max-rate` (`32k` to `1024M`; a bare number is kB/s); empty for no limit",
    },
    cloneFromReplicas: {
        kind: "boolean",
        default: true,
        allowed: "`false` to clone new replicas from the primary only; `true` copies a replica that streams and is caught up when there is one (see \"A replica joining under load\")",
    },
    synchronousReplicas: {
        kind: "number",
        default: 0,
        allowed: "0 (asynchronous) to `replicas`: a commit waits until this many replicas (any of them) have it on disk",
    },
    parameters: { kind: "object", default: {}, allowed: "extra `postgresql.conf` settings, name to string value; none that weakens TLS, authentication or the component's files (see \"Server parameters\") unless `allowUnsafeParameters`" },
    allowUnsafeParameters: { kind: "boolean", default: false, allowed: "`true` to accept `parameters` that weaken TLS, authentication or the component's files" },
    labelerImage: { kind: "string", default: "docker.io/curlimages/curl:8.11.1", allowed: "an image with `sh` and `curl`, pinned by a version tag or digest (no `latest`)" },
    failover: {
        kind: "string",
        default: DEFAULT_FAILOVER,
        allowed:
            "`manual` (the primary is `primaryOrdinal`) or `patroni` (Patroni elects it; needs `image` with Patroni; " +
            "`primaryOrdinal` stays 0): see \"Automated failover\"",
    },
    automatedFailover: {
        kind: "boolean",
        defaultNote: "unset",
        allowed:
            "deprecated, removed in the next release: `true` is `failover: patroni`, `false` is `failover: manual`; " +
            "logs a warning; must agree with `failover` if both are set",
    },
    patroni: {
        kind: "object",
        defaultNote: `Patroni's (${Object.entries(PATRONI_FIELDS).map(([key, f]) => `${key} ${f.default}`).join(", ")})`,
        allowed:
            "map of seconds (`failover: patroni` only): `ttl` (20-3600), `loopWait` (1-300), `retryTimeout` (3-1200), " +
            "`primaryStartTimeout` (0-3600), with `loopWait + 2 × retryTimeout <= ttl` and `max(2 × retryTimeout, loopWait + retryTimeout) + 10 <= ttl`; fast: 20, 2, 5, 30: see \"Automated failover\"",
        fields: PATRONI_FIELDS,
    },
    backup: {
        kind: "object",
        defaultNote: "off",
        allowed:
            "map (pgBackRest; needs `image` with it): `enabled`, `repositoryType` (`s3` \\| `volume`), `repositoryPath`, " +
            "`s3Bucket`, `s3Endpoint`, `s3Region`, `s3UriStyle` (`host` \\| `path`), `s3VerifyTls`, `s3CredentialsSecret`, " +
            "`volumeSize`, `volumeStorageClassName`, `volumeClaimName`, `fullSchedule`, `diffSchedule`, `retentionFull`, " +
            "`compression`, `encryptionSecret`, `archiveQueueMax`, `archiveTimeoutSeconds`, `jobDeadlineSeconds`: see \"Backups and point-in-time recovery\"",
        fields: BACKUP_FIELDS,
    },
    restore: {
        kind: "object",
        defaultNote: "unset (an empty new database)",
        allowed:
            "map: `fromClusterName`, `fromNamespace`, `targetType` (`latest` \\| `time` \\| `lsn` \\| `name`), `target`; " +
            "a new cluster only, from the repository `backup` describes",
        fields: RESTORE_FIELDS,
    },
    pooler: {
        kind: "object",
        defaultNote: "off",
        allowed:
            "map: `enabled`, `poolMode` (`transaction` \\| `session`), `readWrite`, `readOnly`, `defaultPoolSize`, " +
            "`maxClientConnections`, `replicas`, `image`, `resources`: see \"Connection pooler\"",
        fields: POOLER_FIELDS,
    },
    standby: {
        kind: "object",
        defaultNote: "unset (not a standby)",
        allowed:
            "map: `enabled` (`false` promotes), `sourceHosts` (names the source's certificate carries), `sourcePort`, " +
            "`replicationSecretName` (key `replication-password`: the source's), `sourceCaCertificate` (PEM; required with TLS), " +
            "`sourceCidrs`, `archiveFromClusterName`, `archiveFromNamespace` (the source's stanza in the `backup` repository: " +
            "a second feed); not with `restore`: see \"Disaster recovery: standby cluster\"",
        fields: STANDBY_FIELDS,
    },
    monitoring: {
        kind: "object",
        defaultNote: "on",
        allowed:
            "map: `enabled`, `exporterImage`, `user`, `port`, `prometheusOperator`, `prometheusLabels`, `scrapers` (list of " +
            "`{podLabels, namespaceLabels}`), `replayLagSeconds`, `slotWalPercent`, `diskUsedPercent`, `backupMaxAgeHours`, " +
            "`grafanaDashboard`: see \"Monitoring\"",
        fields: MONITORING_FIELDS,
    },
} as const satisfies Record<keyof ReplicatedDatabaseArgs, ArgSpec>;

export type ArgName = keyof typeof ARGS;

/** Every argument name; an unknown key is refused (a typo must not be silently ignored). */
export const KNOWN_ARGS: ReadonlySet<string> = new Set<string>(Object.keys(ARGS));

/** Every arg's default (undefined where there is none), and the fields' defaults of the object args. */
export const DEFAULTS = {
    ...defaultsOf(ARGS),
    staticVolumes: defaultsOf(STATIC_VOLUME_FIELDS),
    resources: defaultsOf(RESOURCE_FIELDS),
    backup: defaultsOf(BACKUP_FIELDS),
    restore: defaultsOf(RESTORE_FIELDS),
    networkPolicy: defaultsOf(NETWORK_POLICY_FIELDS),
    tls: defaultsOf(TLS_FIELDS),
    pooler: defaultsOf(POOLER_FIELDS),
    standby: defaultsOf(STANDBY_FIELDS),
    patroni: defaultsOf(PATRONI_FIELDS),
    monitoring: defaultsOf(MONITORING_FIELDS),
} as const;

/** The kind of an arg's stack config value; undefined for a name that is no arg. */
export function argKind(name: string): ArgKind | undefined {
    return KNOWN_ARGS.has(name) ? ARGS[name as ArgName].kind : undefined;
}

/** A default as the `@default` JSDoc tag of ./args.ts writes it: the value as JSON, then the note. */
/** The interfaces of components/args.ts whose members' `@default` lines scripts/gen-docs.ts writes, with their tables. */
export const ARG_INTERFACES: Readonly<Record<string, Readonly<Record<string, FieldSpec>>>> = {
    ReplicatedDatabaseArgs: ARGS,
    StaticVolumesArgs: STATIC_VOLUME_FIELDS,
    ResourcesArgs: RESOURCE_FIELDS,
    BackupArgs: BACKUP_FIELDS,
    RestoreArgs: RESTORE_FIELDS,
    NetworkPolicyArgs: NETWORK_POLICY_FIELDS,
    NetworkPeerArgs: NETWORK_PEER_FIELDS,
    TlsArgs: TLS_FIELDS,
    PoolerArgs: POOLER_FIELDS,
    StandbyArgs: STANDBY_FIELDS,
    PatroniArgs: PATRONI_FIELDS,
    MonitoringArgs: MONITORING_FIELDS,
};

export function jsdocDefault(spec: FieldSpec): string {
    return spec.default === undefined ? spec.defaultNote ?? "" : [JSON.stringify(spec.default), spec.defaultNote].filter(Boolean).join(" ");
}

/** A default as docs/configuration.md's table writes it: the value in backticks (strings bare), then the note. */
export function readmeDefault(spec: FieldSpec): string {
    if (spec.default === undefined) {
        return spec.defaultNote ?? "";
    }
    const v = spec.default;
    const text = typeof v === "string" ? (v === "" ? '""' : v) : JSON.stringify(v);
    return [`\`${text}\``, spec.defaultNote].filter(Boolean).join(" ");
}

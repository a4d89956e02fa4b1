/**
 * The component's public arguments: their documentation and their `@default`s, as plain interfaces.
 *
 * Every member is a plain value (no `pulumi.Input`, no unions, no functions) so that the arguments are
 * known before any resource is created and the component stays consumable from other Pulumi languages
 * (Pulumi infers their schema from this file). The defaults themselves live in ./argTable.ts, the checks in
 * ./resolve.ts; tests/unit/arg-table.test.ts holds the `@default`s here to that table.
 */

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
     * @default unset (no static volumes)
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
    /**
     * Compute resources of the database container; a field left out keeps its default.
     * @default {"cpuRequest":"250m","memoryRequest":"512Mi","cpuLimit":"","memoryLimit":"1Gi"}
     */
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
     * @default unset
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

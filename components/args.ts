/**
 * The component's public arguments: their documentation and their `@default`s, as plain interfaces.
 *
 * Every member is a plain value (no `pulumi.Input`, no unions, no functions) so that the arguments are
 * known before any resource is created and the component stays consumable from other Pulumi languages
 * (Pulumi infers their schema from this file). The defaults themselves live in ./argTable.ts, the checks in
 * ./resolve.ts and each feature's resolve.ts. Every `@default` line here is generated from that table
 * (`npm run docs:gen`; tests/unit/gen-docs.test.ts fails when one is not current): edit the table, not the line.
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

/**
 * Continuous WAL archiving and scheduled base backups with pgBackRest, to one repository: an S3-compatible
 * bucket or a Kubernetes volume. Each cluster is one pgBackRest stanza, `<namespace>-<clusterName>`, so that
 * several clusters share a repository. The archive is pushed by whichever pod is the primary.
 */
export interface BackupArgs {
    /** Archive WAL and run the scheduled backups. The repository fields also serve `restore`. @default false */
    enabled?: boolean;
    /** Where backups go: "s3" (an S3-compatible bucket) or "volume" (a ReadWriteMany claim mounted in every pod). @default "s3" */
    repositoryType?: string;
    /** The repository's directory: the key prefix in the bucket, or the directory on the volume. @default "/pgbackrest" */
    repositoryPath?: string;
    /** The bucket ("s3", and required there). @default "" */
    s3Bucket?: string;
    /** The S3 endpoint host, with ":port" if not 443 and no scheme, such as "s3.eu-west-1.amazonaws.com" ("s3", and required there). @default "" */
    s3Endpoint?: string;
    /** The bucket's region ("s3"). @default "us-east-1" */
    s3Region?: string;
    /** "host" (virtual-hosted, `<bucket>.<endpoint>`) or "path" (`<endpoint>/<bucket>`, most S3-compatible servers) ("s3"). @default "host" */
    s3UriStyle?: string;
    /** Verify the endpoint's TLS certificate; false only for a test server ("s3"). @default true */
    s3VerifyTls?: boolean;
    /** An existing Secret with keys `access-key-id` and `secret-access-key` ("s3", and required there). @default "" */
    s3CredentialsSecret?: string;
    /** The size of the repository claim the component creates ("volume"). @default "20Gi" */
    volumeSize?: string;
    /** The StorageClass of that claim; it must offer ReadWriteMany ("volume"). @default "" (the cluster default) */
    volumeStorageClassName?: string;
    /** An existing ReadWriteMany claim to use instead of creating one ("volume"). @default "" */
    volumeClaimName?: string;
    /** When a full backup runs: a five-field cron expression or a macro such as "@weekly" (UTC). @default "0 1 * * 0" */
    fullSchedule?: string;
    /** When a differential backup runs; "" for none. @default "0 1 * * 1-6" */
    diffSchedule?: string;
    /** How many full backups (with the WAL they need) to keep, at least 1; older ones expire after each backup. @default 2 */
    retentionFull?: number;
    /** Compression of backups and archived WAL: "zst", "lz4", "gz", "bz2" or "none". @default "zst" */
    compression?: string;
    /** An existing Secret with key `repository-key`: encrypts the repository (aes-256-cbc). @default "" (not encrypted) */
    encryptionSecret?: string;
    /**
     * The most WAL the primary keeps waiting for an unreachable repository, a PostgreSQL size in MB, GB or TB
     * such as "2GB", at most half of `storageSize`; beyond it pgBackRest drops WAL from the archive (the server keeps running; point-in-time recovery has a gap
     * until the next full backup). "" is a quarter of `storageSize`.
     * @default ""
     */
    archiveQueueMax?: string;
    /** Seconds (10 to 3600) after which a partly filled WAL segment is archived anyway: the most an idle cluster's archive lags. @default 60 */
    archiveTimeoutSeconds?: number;
    /**
     * Seconds (600 to 604800) after which a scheduled backup Job is ended and counted as failed (its activeDeadlineSeconds): one
     * backup runs at a time, so a hung one would otherwise block every later one.
     * @default 43200
     */
    jobDeadlineSeconds?: number;
    /**
     * A new replica (an empty volume) restores this cluster's latest backup from the repository and replays the
     * archive from there, then streams from the primary: its copy reads nothing of the primary's disk and asks
     * the primary for no checkpoint. With no backup in the repository yet, or a restore that fails, it clones
     * the primary as without backups (pg_basebackup, `cloneMaxRate`). Only with `enabled`.
     * @default true
     */
    replicasFromRepository?: boolean;
}

/**
 * Creates this cluster from another cluster's backups in the repository `backup` describes, instead of an empty
 * database: its first primary restores and replays the archive to the target, then its replicas clone it. Only a
 * NEW cluster restores (its primary's volume is empty); a running cluster's data is never overwritten.
 */
export interface RestoreArgs {
    /** The cluster whose backups to restore (its `clusterName`); "" restores nothing. @default "" */
    fromClusterName?: string;
    /** That cluster's namespace. @default "" (this cluster's namespace) */
    fromNamespace?: string;
    /** "latest" (the end of the archive), "time", "lsn" or "name" (a restore point). @default "latest" */
    targetType?: string;
    /**
     * The target: a timestamp with time zone such as "2026-11-25 21:00:00+00" ("time"), an LSN such as
     * "0/3000060" ("lsn"), or a restore point's name ("name"); "" with "latest".
     * @default ""
     */
    target?: string;
}

/**
 * Pods that the network policy names: those matching `podLabels` in the namespaces matching `namespaceLabels`
 * (both must match). Label maps are Kubernetes label selectors' `matchLabels`: every pair must be on the object.
 */
export interface NetworkPeerArgs {
    /** The pods' labels; {} is every pod of those namespaces. @default {} */
    podLabels?: { [key: string]: string };
    /**
     * The namespaces' labels, such as {"kubernetes.io/metadata.name": "apps"} (Kubernetes sets that label on
     * every namespace); {} is every namespace; unset is the cluster's own namespace only.
     * @default unset (the cluster's namespace)
     */
    namespaceLabels?: { [key: string]: string };
}

/**
 * A NetworkPolicy around the database pods: ingress to the database port only from the cluster's own pods and
 * `allowedClients`, to the topology's own ports (Patroni's REST API) only from the cluster's own pods; egress
 * only to the cluster's own pods, DNS, the Kubernetes API and, when backups are on, the S3 repository. See
 * docs/security.md, "Network policy".
 */
export interface NetworkPolicyArgs {
    /**
     * Create the policies. false leaves the database port (and Patroni's REST API, which can trigger a switchover)
     * open to every pod of the cluster and lets the pods reach anything: choose it only where something else
     * isolates them (a service mesh's policies, a namespace-wide policy of your own).
     * @default true
     */
    enabled?: boolean;
    /**
     * Who may connect to the database port besides the cluster's own pods. The default is every pod of the
     * cluster's namespace; [] is nobody else.
     * @default [{"podLabels":{}}]
     */
    allowedClients?: NetworkPeerArgs[];
    /**
     * The DNS servers' pods, reached on `dnsPort` (UDP and TCP). The default matches CoreDNS and kube-dns as
     * kubeadm, kind, minikube, k3s, EKS, GKE and AKS deploy them.
     * @default [{"podLabels":{"k8s-app":"kube-dns"},"namespaceLabels":{"kubernetes.io/metadata.name":"kube-system"}}]
     */
    dnsServers?: NetworkPeerArgs[];
    /**
     * The port the DNS pods listen on (UDP and TCP). A policy sees the pod's port, not the Service's: 53 for
     * CoreDNS and kube-dns; OpenShift's DNS pods listen on 5353.
     * @default 53
     */
    dnsPort?: number;
    /**
     * Where the Kubernetes API server may be, as CIDRs, reached on ports 443 and 6443 by the pods that use it
     * (the role-labeler sidecar, Patroni); the backup Jobs no longer reach it. Its address is not known when the component
     * renders (managed clusters do not publish it), hence everything by default; narrow it to the API
     * server's endpoints (`kubectl get endpoints kubernetes`) where you know them.
     * @default ["0.0.0.0/0"]
     */
    apiServerCidrs?: string[];
    /**
     * Where the S3 backup repository may be, as CIDRs, reached on `backup.s3Endpoint`'s port (443 unless it
     * names one) while the repository is used (backups on, or a restore). Nothing is opened for a "volume"
     * repository.
     * @default ["0.0.0.0/0"]
     */
    backupRepositoryCidrs?: string[];
    /**
     * Clients outside the Kubernetes cluster allowed to the database port, as CIDRs, such as the nodes or pod
     * network of a standby cluster in another region (docs/standby.md). In-cluster clients are `allowedClients`.
     * @default []
     */
    allowedClientCidrs?: string[];
}

/**
 * Encryption in transit: every network connection to the database (clients, replication, `pg_rewind`) and to
 * Patroni's REST API over TLS, with a server certificate valid for every pod and Service name. See
 * docs/security.md, "Encryption in transit".
 */
export interface TlsArgs {
    /**
     * Serve TLS and refuse plain-text network connections; false serves plain TCP only (for a service mesh that
     * encrypts between the pods itself). Passwords travel as SCRAM either way, never in clear; without TLS the
     * data and the queries do, and a client cannot tell the server from an impostor.
     * @default true
     */
    enabled?: boolean;
    /**
     * Where the certificate comes from: "generated" (a CA and a server certificate the component creates with
     * @pulumi/tls, renewed by `pulumi up`), "certManager" (a cert-manager Certificate from `issuerName`) or
     * "secret" (the user's Secret `secretName`).
     * @default "generated"
     */
    source?: string;
    /** The cert-manager Issuer or ClusterIssuer that signs the Certificate ("certManager", and required there). @default "" */
    issuerName?: string;
    /** "Issuer" (in the cluster's namespace) or "ClusterIssuer" ("certManager"). @default "Issuer" */
    issuerKind?: string;
    /** An existing Secret with keys `tls.crt`, `tls.key` and `ca.crt` ("secret", and required there). @default "" */
    secretName?: string;
    /** How long a server certificate is valid, in days, 2 to 3650 ("generated", "certManager"). @default 365 */
    validityDays?: number;
    /** How many days before its expiry a certificate is renewed, fewer than `validityDays` ("generated": by the next `pulumi up` in that window; "certManager": by cert-manager). @default 30 */
    renewBeforeDays?: number;
    /**
     * More DNS names the server certificate carries ("generated", "certManager"), such as the name a standby
     * cluster in another Kubernetes cluster dials (docs/standby.md). Empty with "secret".
     * @default []
     */
    extraDnsNames?: string[];
    /**
     * An existing Secret with keys `tls.crt`, `tls.key` and `ca.crt` for the pooler's Services ("secret", with
     * `pooler.enabled`): the pooler serves a certificate of its own, so its pods never hold the servers' private
     * key. Required then; naming `secretName` again shares the servers' key with the pooler, knowingly.
     * @default ""
     */
    poolerSecretName?: string;
}

/**
 * A standby cluster (disaster recovery in another region or Kubernetes cluster): the pod at `primaryOrdinal`
 * (or, with Patroni, its standby leader) is a standby of another cluster, the source, streaming its WAL over
 * the network; this cluster's other pods cascade from it. It serves reads and takes no writes. Promotion, when
 * the source is gone, is `enabled: false` and `pulumi up`. See docs/standby.md.
 */
export interface StandbyArgs {
    /** Stream from the source instead of taking writes; false promotes (the other fields may stay). @default false */
    enabled?: boolean;
    /**
     * The source's host names this cluster's pods dial, tried in order (several: the one that takes writes, by
     * target_session_attrs=read-write): names the source's certificate carries (its read-write Service through a
     * cross-cluster DNS, or a name in the source's `tls.extraDnsNames`). Required with `enabled`.
     * @default []
     */
    sourceHosts?: string[];
    /** The source's database port. @default 5432 */
    sourcePort?: number;
    /**
     * A Secret in this cluster's namespace with key `replication-password`: the SOURCE's replication password.
     * This cluster's pods use it for replication (to the source and to each other) instead of the one in its
     * own credentials Secret, as long as it is set, also after a promotion. Required with `enabled`.
     * @default ""
     */
    replicationSecretName?: string;
    /**
     * The source's CA certificate (PEM; its `caCertificate` output): the standby verifies the source with
     * sslmode=verify-full against it. Required when this cluster's `tls.enabled` is true.
     * @default ""
     */
    sourceCaCertificate?: string;
    /**
     * Where the source may be, as CIDRs: this cluster's pods may connect to them on `sourcePort` (egress of
     * the network policy).
     * @default ["0.0.0.0/0"]
     */
    sourceCidrs?: string[];
    /**
     * A second feed from the archive: the source's `clusterName` whose stanza in the repository that this
     * cluster's `backup` fields describe holds the source's WAL and backups. The standby fetches WAL from it
     * (read only) whenever streaming fails, and its first data directory comes from the source's latest backup
     * there when the source cannot be cloned. "" streams only.
     * @default ""
     */
    archiveFromClusterName?: string;
    /** The source's namespace, for its stanza's name. @default "" (this cluster's namespace) */
    archiveFromNamespace?: string;
}

/**
 * A PgBouncer connection pooler in front of the read-write and/or read-only Service: a Deployment, Service,
 * PodDisruptionBudget per pooled Service, `<cluster>-pooler-rw` / `<cluster>-pooler-ro`. Clients log in with
 * their own role and password, which PgBouncer looks up through a dedicated role (`auth_query`); no password
 * list is copied anywhere. See docs/pooler.md.
 */
export interface PoolerArgs {
    /** Deploy the pooler. @default false */
    enabled?: boolean;
    /**
     * When a server connection goes back to the pool: "transaction" (after each transaction: most sharing, but
     * no session state such as SET, advisory locks or LISTEN across transactions) or "session" (when the client
     * disconnects).
     * @default "transaction"
     */
    poolMode?: string;
    /** Pool in front of the read-write Service (the primary). @default true */
    readWrite?: boolean;
    /** Pool in front of the read-only Service (the replicas). @default false */
    readOnly?: boolean;
    /** Server connections per pooler pod, per user and database, 1 to 1000 (PgBouncer's `default_pool_size`): the server sees at most `replicas` times this per pool. @default 20 */
    defaultPoolSize?: number;
    /** Client connections one pooler pod accepts, at least `defaultPoolSize` (PgBouncer's `max_client_conn`). @default 1000 */
    maxClientConnections?: number;
    /** Pooler pods per pooled Service, 1 to 20. @default 2 */
    replicas?: number;
    /** The PgBouncer image, with a tag or digest (not `latest`): bash, `pgbouncer` on PATH, a non-root user 998. @default "ghcr.io/cloudnative-pg/pgbouncer:1.24.0" */
    image?: string;
    /**
     * Compute resources of each pooler container; a field left out keeps its default.
     * @default {"cpuRequest":"50m","memoryRequest":"64Mi","cpuLimit":"","memoryLimit":"128Mi"}
     */
    resources?: ResourcesArgs;
}

/**
 * Patroni's timings (`failover: "patroni"` only), in seconds. The defaults are Patroni's own, what a cluster
 * created before these settings existed runs, and a ~30 s failover after the primary's node is lost.
 * `{ ttl: 20, loopWait: 2, retryTimeout: 5, primaryStartTimeout: 30 }` is the fast choice (about 20 s; see
 * docs/failover.md, "Automated failover", for what it costs). Checked against Patroni's rules: `ttl` at least 20,
 * `loopWait + 2 × retryTimeout <= ttl`; and against ours: `max(2 × retryTimeout, loopWait + retryTimeout) + 10
 * <= ttl`, so that a primary cut off from the store stops before its lock can expire. A change reaches a running cluster: the leader applies it to Patroni's
 * dynamic configuration.
 */
export interface PatroniArgs {
    /**
     * How long the leader lock lives after its last renewal: the primary's node lost, a replica takes over
     * once it has expired. 20 to 3600.
     * @default 30
     */
    ttl?: number;
    /**
     * How long Patroni sleeps between its loops: the leader renews the lock, and a crashed server is
     * noticed, once per loop. 1 to 300.
     * @default 10
     */
    loopWait?: number;
    /**
     * How long Patroni retries a store (Kubernetes API) or PostgreSQL operation before giving up: a store
     * outage shorter than this does not demote the primary. 3 to 1200.
     * @default 10
     */
    retryTimeout?: number;
    /**
     * How long a primary whose server crashed (Patroni still running) may take to come back before a replica
     * replaces it; 0 fails over at once (asynchronous mode: may lose the last commits). 0 to 3600.
     * @default 300
     */
    primaryStartTimeout?: number;
}

/**
 * Metrics and alerts: a postgres_exporter sidecar in every pod that reads the server over its local socket as a
 * least-privilege role (member of `pg_monitor`, password in the cluster's Secret), the alert rules and a Grafana
 * dashboard. See docs/monitoring.md.
 */
export interface MonitoringArgs {
    /** Run the exporter sidecar and render the rules; false: no exporter, no monitoring role, no rules. @default true */
    enabled?: boolean;
    /** The exporter's image: any postgres_exporter with `--extend.query-path` (0.11 and later), pinned by version. @default "quay.io/prometheuscommunity/postgres-exporter:v0.16.0" */
    exporterImage?: string;
    /** The monitoring role the exporter logs in as, a member of `pg_monitor` only; its password is the Secret's `monitoring-password`. @default "monitor" */
    user?: string;
    /** The exporter's port (named `metrics`). @default 9187 */
    port?: number;
    /**
     * Create a PodMonitor and a PrometheusRule (monitoring.coreos.com/v1; the Prometheus Operator's CRDs must exist);
     * false annotates the pods with `prometheus.io/scrape`, `port` and `path` instead and puts the rules in the
     * ConfigMap `<cluster>-alert-rules`.
     * @default false
     */
    prometheusOperator?: boolean;
    /** Labels put on the PodMonitor and the PrometheusRule, for the Prometheus resource's selectors (such as {"release": "kube-prometheus-stack"}). @default {} */
    prometheusLabels?: { [key: string]: string };
    /**
     * Who may scrape the metrics port (and, with `failover: "patroni"`, Patroni's /metrics), as NetworkPolicy peers.
     * The default is pods labelled `app.kubernetes.io/name: prometheus` (the Prometheus Operator's and the community
     * Helm chart's servers) in the cluster's own namespace; name a monitoring namespace with `namespaceLabels`
     * {"kubernetes.io/metadata.name": "monitoring"}.
     * @default [{"podLabels":{"app.kubernetes.io/name":"prometheus"}}]
     */
    scrapers?: NetworkPeerArgs[];
    /** A replica's replay lag, in seconds, above which `ReplicatedDbReplayLagHigh` fires. @default 60 */
    replayLagSeconds?: number;
    /** The share of `maxSlotWalKeepSize`, in percent, that a slot may retain before `ReplicatedDbSlotWalNearLimit` fires. @default 80 */
    slotWalPercent?: number;
    /** The share of a data volume, in percent, in use before `ReplicatedDbDiskNearlyFull` fires (the kubelet's volume statistics). @default 85 */
    diskUsedPercent?: number;
    /** With backups: the age, in hours, of the last successful backup Job above which `ReplicatedDbBackupTooOld` fires (kube-state-metrics). @default 48 */
    backupMaxAgeHours?: number;
    /** Create the ConfigMap `<cluster>-dashboard` with the Grafana dashboard, labelled `grafana_dashboard: "1"` for Grafana's sidecar. @default false */
    grafanaDashboard?: boolean;
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
     * accepts writes, the others follow it. See docs/failover.md.
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
     * Create a ValidatingAdmissionPolicy and its binding (cluster-scoped objects) by which the pods' ServiceAccount
     * may change only the labels and annotations of pods: RBAC's `patch` on pods would also let it change a
     * container's image. Set false where the deployer may not create cluster-scoped objects (docs/security.md).
     * @default true
     */
    podUpdatePolicy?: boolean;
    /**
     * Opt into the documented major-version upgrade (docs/operations.md, "Major version upgrades"): with a new major in `image`,
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
    /**
     * How the pods keep apart, so that one node or zone lost does not take several pods:
     * - "preferred": the scheduler tries to put each pod on its own node and to spread them evenly over the
     *   zones (`topology.kubernetes.io/zone`), but schedules them anyway where it cannot (a single-node cluster).
     * - "required": each pod on its own node, and at most one pod more in a zone than in another; a pod that
     *   cannot be placed so stays Pending. Needs `replicas + 1` schedulable nodes, each labelled with its zone.
     * @default "preferred"
     */
    podAntiAffinity?: string;
    /** The application role. @default "app" */
    appUser?: string;
    /** The application database, owned by `appUser`. @default "app" */
    appDatabase?: string;
    /** The replication role. @default "replicator" */
    replicationUser?: string;
    /**
     * An existing Secret (keys `superuser-password`, `replication-password`, `app-password`, `rewind-password`
     * (the rewind role's: add it to your Secret before the upgrade that brings it); also `monitoring-password` with
     * monitoring on, `pooler-password` with the pooler, `patroni-api-password` with `failover: "patroni"`,
     * `backup-password` with `backup.enabled`) to use instead of generating passwords.
     * @default "" (generate them)
     */
    existingSecretName?: string;
    /** Bump to generate new passwords; they roll out without restarting the pods. @default 1 */
    passwordVersion?: number;
    /** The cluster's DNS domain, for the pod and Service host names. @default "cluster.local" */
    clusterDomain?: string;
    /**
     * The NetworkPolicy around the pods (on by default); a field left out keeps its default. See
     * docs/security.md, "Network policy".
     * @default on
     */
    networkPolicy?: NetworkPolicyArgs;
    /**
     * TLS for every network connection (on by default, with certificates the component generates); a field left
     * out keeps its default. See docs/security.md, "Encryption in transit".
     * @default on
     */
    tls?: TlsArgs;
    /**
     * The most WAL a replication slot may hold back on the primary, so that a replica that is gone for
     * long cannot fill the primary's disk (it re-clones instead). A PostgreSQL size such as "2GB".
     * @default "1GB"
     */
    maxSlotWalKeepSize?: string;
    /**
     * The most a replica's clone (pg_basebackup from the primary) may read per second, as pg_basebackup's
     * `--max-rate` takes it: kB/s, or with a `k` or `M` suffix ("50M"), from 32k to 1024M. Empty: as fast as the
     * disks and network allow. A limit keeps more of the primary's throughput while the clone runs, but the clone
     * takes longer and costs about as much work in all (docs/benchmarks.md, "A replica joining under load").
     * @default ""
     */
    cloneMaxRate?: string;
    /**
     * A new replica (an empty volume) copies another replica that streams from the primary and is caught up,
     * rather than the primary: the primary is asked only for a checkpoint (so that the copy starts from a recent
     * restartpoint) and reads none of its files for the copy. With no such replica, or a copy of it that fails,
     * the new replica clones the primary. In the Patroni mode every member is tagged `clonefrom`. With
     * `backup.replicasFromRepository`, the repository is asked first.
     * @default true
     */
    cloneFromReplicas?: boolean;
    /**
     * Synchronous replication: a commit returns only once this many replicas (any of them) have it on
     * disk, so that a committed write survives the loss of the primary. 0 is asynchronous replication:
     * faster commits, but the last moments of writes can be lost with the primary. At most `replicas`,
     * and fewer leaves room for a replica to be down without stopping the writes.
     * @default 0
     */
    synchronousReplicas?: number;
    /**
     * Extra server parameters, written to the server's configuration file. Parameters that would weaken TLS or
     * authentication, or move a file or socket the component manages (docs/security.md lists them), are refused
     * unless `allowUnsafeParameters` is true.
     * @default {}
     */
    parameters?: { [key: string]: string };
    /**
     * The escape hatch for `parameters`: accept parameters that weaken TLS or authentication, or move a file or
     * socket the component manages (docs/security.md, "Server parameters"). The component's promises about TLS
     * and passwords no longer hold when such a parameter is set.
     * @default false
     */
    allowUnsafeParameters?: boolean;
    /**
     * Who decides which pod is the primary. One of:
     * - "manual": the config does: `primaryOrdinal` names the primary, and changing it is a switchover (or a
     *   failover, with the primary's pod gone); a role-labeler sidecar labels the pods for the Services.
     * - "patroni": Patroni runs in every pod, elects the primary through the Kubernetes API, promotes the
     *   most advanced healthy replica when the primary is gone, rewinds a returning old primary and labels
     *   the pods for the Services. Needs an `image` with Patroni 3.3 or newer (images/postgres/Dockerfile
     *   builds one from the official image); `primaryOrdinal` then stays 0 (switch over with
     *   `patronictl switchover`). See docs/failover.md, "Automated failover".
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
    /**
     * Patroni's timings (`failover: "patroni"` only; refused otherwise); a field left out keeps its default,
     * Patroni's own. See docs/failover.md, "Automated failover".
     * @default Patroni's (ttl 30, loopWait 10, retryTimeout 10, primaryStartTimeout 300)
     */
    patroni?: PatroniArgs;
    /**
     * Backups and continuous archiving (pgBackRest); a field left out keeps its default. Needs an `image` with
     * pgBackRest (images/postgres/Dockerfile). See docs/backups.md.
     * @default off
     */
    backup?: BackupArgs;
    /**
     * Restore this new cluster from another's backups (to the latest point, a time, an LSN or a restore point).
     * @default unset (an empty new database)
     */
    restore?: RestoreArgs;
    /**
     * A PgBouncer connection pooler in front of the Services (off by default); a field left out keeps its
     * default. See docs/pooler.md.
     * @default off
     */
    pooler?: PoolerArgs;
    /**
     * Make this cluster a standby of another (disaster recovery); `enabled: false` promotes it. See
     * docs/standby.md.
     * @default unset (not a standby)
     */
    standby?: StandbyArgs;
    /**
     * Metrics (a postgres_exporter sidecar), alert rules and a dashboard; a field left out keeps its default. See
     * docs/monitoring.md.
     * @default on
     */
    monitoring?: MonitoringArgs;
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
    podUpdatePolicy: boolean;
    image: string;
    allowMajorVersionChange: boolean;
    labelerImage: string;
    resources: Required<ResourcesArgs>;
    podAntiAffinity: string;
    appUser: string;
    appDatabase: string;
    replicationUser: string;
    existingSecretName: string;
    passwordVersion: number;
    clusterDomain: string;
    networkPolicy: ResolvedNetworkPolicy;
    tls: ResolvedTls;
    maxSlotWalKeepSize: string;
    cloneMaxRate: string;
    cloneFromReplicas: boolean;
    synchronousReplicas: number;
    parameters: { [key: string]: string };
    allowUnsafeParameters: boolean;
    /** The engine's topology that decides the primary ("manual" or "patroni" for PostgreSQL). */
    failover: string;
    /** Patroni's timings (their defaults when `failover` is not "patroni", where nothing uses them). */
    patroni: ResolvedPatroni;
    backup: ResolvedBackup;
    restore: ResolvedRestore | undefined;
    pooler: ResolvedPooler;
    /** undefined: never configured as a standby; `enabled` false: promoted (or not yet a standby). */
    standby: ResolvedStandby | undefined;
    monitoring: ResolvedMonitoring;
}

/** The standby settings with every default filled in. */
export interface ResolvedStandby extends Required<StandbyArgs> {
    /** The source's pgBackRest stanza that feeds this standby from the archive; "" streams only. */
    archiveStanza: string;
}
/** Patroni's timings with every default filled in. */
export type ResolvedPatroni = Required<PatroniArgs>;

/** The backup settings with every default filled in. */
export interface ResolvedBackup extends Required<BackupArgs> {
    /** This cluster's pgBackRest stanza, `<namespace>-<clusterName>`. */
    stanza: string;
    /** `archiveQueueMax` in MB, with its default worked out. */
    archiveQueueMaxMB: number;
    /** Whether pods need the repository at all: backups on, or a restore from it. */
    repositoryUsed: boolean;
}

/** The restore with its defaults; `stanza` is the source cluster's. */
export interface ResolvedRestore extends Required<RestoreArgs> {
    stanza: string;
}

/** A network peer with its defaults: `namespaceLabels` undefined is the cluster's own namespace. */
export interface ResolvedNetworkPeer {
    podLabels: { [key: string]: string };
    namespaceLabels: { [key: string]: string } | undefined;
}

/** The network policy settings with every default filled in. */
export interface ResolvedNetworkPolicy {
    enabled: boolean;
    allowedClients: ResolvedNetworkPeer[];
    dnsServers: ResolvedNetworkPeer[];
    dnsPort: number;
    apiServerCidrs: string[];
    backupRepositoryCidrs: string[];
    allowedClientCidrs: string[];
}

/** The TLS settings with every default filled in. */
export interface ResolvedTls extends Required<TlsArgs> {
    /** The Secret the pods mount (keys tls.crt, tls.key, ca.crt): `<cluster>-tls`, or the user's with "secret". */
    mountedSecretName: string;
    /** The Secret the pooler's pods mount: `<cluster>-pooler-tls`, or the user's `poolerSecretName` with "secret". */
    mountedPoolerSecretName: string;
}

/** The pooler settings with every default filled in. */
export interface ResolvedPooler extends Required<Omit<PoolerArgs, "resources">> {
    resources: Required<ResourcesArgs>;
}

/** The monitoring settings with every default filled in. */
export interface ResolvedMonitoring extends Required<Omit<MonitoringArgs, "scrapers">> {
    scrapers: ResolvedNetworkPeer[];
}

/**
 * The stack variants, declared once: the program's stacks (Pulumi.dev.yaml, Pulumi.prod.yaml) and the component
 * configurations the unit tests render (tests/unit/*.test.ts), every feature's objects in at least one, with the
 * Pod Security level docs/security.md "Placement and Pod Security" gives each. The control-plane tests apply
 * each into a namespace of its own; the unit tests check the schema, the YAML print and the scratch limits of
 * the same list (tests/unit/variants.ts).
 */
import { ReplicatedDatabaseArgs } from "../components/args";
import { Manifest } from "../render/manifests";
import { Rendered, renderComponent, renderProgram } from "../render/render";
import { readStackConfig } from "../render/stackConfig";

export type Level = "restricted" | "baseline";

export interface Variant {
    /** Also the namespace (prefixed cp-). */
    id: string;
    /** The README's Pod Security level for it: baseline for hostPath static volumes, restricted otherwise. */
    level: Level;
    render: (namespace: string) => Promise<Rendered>;
}

// The unit tests' values (tests/unit/backup.test.ts, standby.test.ts, standby-archive.test.ts, helpers.ts).
const IMAGE = "registry.example.com/replicated-db-postgres:17.6";
const S3 = { enabled: true, s3Bucket: "backups", s3Endpoint: "minio.storage:9000", s3UriStyle: "path", s3CredentialsSecret: "s3-creds" } as const;
const CA = "-----BEGIN CERTIFICATE-----\nMIIBsource\n-----END CERTIFICATE-----\n";
const STANDBY = {
    enabled: true,
    sourceHosts: ["db-rw.databases.svc.eu-west.example"],
    replicationSecretName: "source-replication",
    sourceCaCertificate: CA,
};
const STATIC_ARGS = { replicas: 2, storageSize: "1Gi", createStorageClass: true, staticVolumes: { type: "hostPath", basePath: "/srv/db" } } as const;

function stack(id: string, stackName: string, level: Level): Variant {
    return {
        id,
        level,
        render: (namespace) => renderProgram({ ...readStackConfig(stackName), "replicated-db:namespace": namespace }),
    };
}

function component(id: string, args: ReplicatedDatabaseArgs, level: Level = "restricted", name = "db"): Variant {
    return { id, level, render: (namespace) => renderComponent(name, { ...args, namespace }) };
}

export const VARIANTS: Variant[] = [
    stack("stack-dev", "dev", "baseline"),
    stack("stack-prod", "prod", "restricted"),
    component("default", {}),
    component("replicas-0", { replicas: 0 }),
    component("existing-secret", { replicas: 0, existingSecretName: "mine" }),
    component("primary-ordinal-1", { failover: "manual", primaryOrdinal: 1, synchronousReplicas: 1 }),
    component("replicas-4", { replicas: 4 }),
    component("pod-update-policy-off", { podUpdatePolicy: false }),
    component("anti-affinity", { replicas: 3, podAntiAffinity: "required" }),
    component("patroni", { failover: "patroni", image: IMAGE }),
    component("patroni-4", { failover: "patroni", image: IMAGE, clusterName: "pg", replicas: 4 }, "restricted", "orders"),
    component("patroni-sync", { failover: "patroni", image: IMAGE, synchronousReplicas: 1 }),
    component("patroni-tls-off", { failover: "patroni", image: IMAGE, tls: { enabled: false } }),
    component("tls-secret", { tls: { source: "secret", secretName: "shop-db-tls" } }),
    component("tls-cert-manager", { tls: { source: "certManager", issuerName: "corp-ca", issuerKind: "ClusterIssuer", validityDays: 60, renewBeforeDays: 15 } }),
    component("tls-cert-manager-issuer", { tls: { source: "certManager", issuerName: "db-ca", issuerKind: "Issuer" } }),
    component("tls-off-pooler", { tls: { enabled: false }, pooler: { enabled: true } }),
    component("pooler-read-only", { pooler: { enabled: true, readOnly: true, poolMode: "session" } }),
    component("backup-s3", { image: IMAGE, backup: S3 }),
    component("backup-s3-patroni", { image: IMAGE, failover: "patroni", backup: S3 }),
    component("backup-s3-encrypted", { image: IMAGE, replicas: 2, backup: { ...S3, encryptionSecret: "backup-key", fullSchedule: "@weekly" } }),
    component("backup-volume", { image: IMAGE, backup: { enabled: true, repositoryType: "volume", volumeStorageClassName: "nfs" } }),
    component("backup-volume-patroni", { image: IMAGE, failover: "patroni", backup: { enabled: true, repositoryType: "volume", diffSchedule: "" } }),
    component("backup-volume-claim", { image: IMAGE, backup: { enabled: true, repositoryType: "volume", volumeClaimName: "shared-backups" } }),
    component("restore", { image: IMAGE, backup: { ...S3, enabled: false }, restore: { fromClusterName: "db", targetType: "time", target: "2026-01-01 00:00:00+00" } }, "restricted", "db2"),
    component("monitoring-operator", { monitoring: { prometheusOperator: true } }),
    component("monitoring-dashboard", { monitoring: { grafanaDashboard: true } }),
    component("monitoring-off", { monitoring: { enabled: false } }),
    component("standby", { standby: STANDBY }),
    component("standby-patroni", { failover: "patroni", image: IMAGE, standby: STANDBY }),
    component("standby-archive", { image: IMAGE, backup: { s3Bucket: "backups", s3Endpoint: "s3.eu-west-1.amazonaws.com", s3CredentialsSecret: "s3-creds", enabled: true }, standby: { ...STANDBY, archiveFromClusterName: "db", archiveFromNamespace: "databases" } }, "restricted", "dr"),
    component("network-policy-off", { image: IMAGE, backup: S3, networkPolicy: { enabled: false } }),
    component("network-policy-named", {
        image: IMAGE,
        failover: "patroni",
        backup: { enabled: true, s3Bucket: "bkp", s3Endpoint: "minio.example.com:9000", s3CredentialsSecret: "c" },
        networkPolicy: {
            allowedClients: [{ podLabels: { app: "shop" } }, { podLabels: { app: "bi" }, namespaceLabels: { team: "reporting" } }],
            apiServerCidrs: ["172.18.0.0/16", "fd00::/64"],
            backupRepositoryCidrs: ["52.1.0.0/16"],
        },
    }),
    component("network-policy-cidrs", { networkPolicy: { allowedClientCidrs: ["198.51.100.0/24"] }, tls: { extraDnsNames: ["db.eu-west.example.com", "db-rw"] } }),
    component("static-hostpath", STATIC_ARGS, "baseline"),
    component("static-hostpath-4", { ...STATIC_ARGS, replicas: 4 }, "baseline"),
    component("static-local", { createStorageClass: true, staticVolumes: { type: "local", nodeNames: ["node-a"] } }),
    component("static-local-2-nodes", { ...STATIC_ARGS, staticVolumes: { type: "local", basePath: "/mnt/disks", nodeNames: ["n1", "n2"] } }),
];

export function namespaceOf(v: Variant): string {
    return `cp-${v.id}`;
}

/** Renders one after the other (Pulumi's mocks are process-wide). */
export async function renderAll(variants: Variant[]): Promise<Map<string, Manifest[]>> {
    const out = new Map<string, Manifest[]>();
    for (const v of variants) {
        out.set(v.id, (await v.render(namespaceOf(v))).manifests);
    }
    return out;
}

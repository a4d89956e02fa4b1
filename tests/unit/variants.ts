/**
 * The stack variants the tests render, declared once: every feature's objects appear in at least one of them.
 * The schema check (schema.test.ts), the YAML round trip (render-yaml.test.ts) and the real API server's
 * acceptance run over this same list.
 */
import { Rendered, renderProgram } from "../../render/render";
import { readStackConfig } from "../../render/stackConfig";
import { STATIC_ARGS, renderComponent } from "./helpers";

const IMAGE = "registry.example.com/replicated-db-postgres:17.6";
const CA = "-----BEGIN CERTIFICATE-----\nMIIBsource\n-----END CERTIFICATE-----\n";

const CASES: [string, () => Promise<Rendered>][] = [
    ["the defaults", () => renderComponent("db")],
    ["static hostPath volumes", () => renderComponent("db", STATIC_ARGS)],
    ["static local volumes", () => renderComponent("db", { ...STATIC_ARGS, staticVolumes: { type: "local", nodeNames: ["n1"] } })],
    ["no replica, an existing Secret", () => renderComponent("db", { replicas: 0, existingSecretName: "mine" })],
    ["failover manual with the primary on ordinal 1", () => renderComponent("db", { failover: "manual", primaryOrdinal: 1, synchronousReplicas: 1 })],
    ["failover patroni", () => renderComponent("db", { failover: "patroni", image: "registry.example.com/postgres-patroni:17.6", synchronousReplicas: 1 })],
    [
        "backups to S3 with encryption, and a restore",
        () =>
            renderComponent("db2", {
                image: "registry.example.com/replicated-db-postgres:17.6",
                backup: { enabled: true, s3Bucket: "bkp", s3Endpoint: "s3.example.com", s3CredentialsSecret: "c", encryptionSecret: "k" },
                restore: { fromClusterName: "db", targetType: "lsn", target: "0/3000060" },
            }),
    ],
    [
        "backups to a volume repository with Patroni",
        () =>
            renderComponent("db", {
                image: "registry.example.com/replicated-db-postgres:17.6",
                failover: "patroni",
                backup: { enabled: true, repositoryType: "volume", diffSchedule: "" },
            }),
    ],
    ["the connection pooler in front of both Services", () => renderComponent("db", { pooler: { enabled: true, readOnly: true, poolMode: "session" } })],
    ["required anti-affinity and the zone spread", () => renderComponent("db", { replicas: 3, podAntiAffinity: "required" })],
    [
        "the network policies with named clients, Patroni and S3 backups on a port",
        () =>
            renderComponent("db", {
                image: "registry.example.com/replicated-db-postgres:17.6",
                failover: "patroni",
                backup: { enabled: true, s3Bucket: "bkp", s3Endpoint: "minio.example.com:9000", s3CredentialsSecret: "c" },
                networkPolicy: {
                    allowedClients: [{ podLabels: { app: "shop" } }, { podLabels: { app: "bi" }, namespaceLabels: { team: "reporting" } }],
                    apiServerCidrs: ["172.18.0.0/16", "fd00::/64"],
                    backupRepositoryCidrs: ["52.1.0.0/16"],
                },
            }),
    ],
    ["TLS from a user Secret, with Patroni", () => renderComponent("db", { failover: "patroni", image: "registry.example.com/postgres-patroni:17.6", tls: { source: "secret", secretName: "db-certs" } })],
    ["TLS from cert-manager", () => renderComponent("db", { tls: { source: "certManager", issuerName: "corp-ca", issuerKind: "ClusterIssuer" } })],
    ["TLS off, with Patroni", () => renderComponent("db", { failover: "patroni", image: "registry.example.com/postgres-patroni:17.6", tls: { enabled: false } })],
    ["the dev stack", () => renderProgram(readStackConfig("dev"))],
    ["the prod stack", () => renderProgram(readStackConfig("prod"))],    ["four replicas", () => renderComponent("db", { replicas: 4 })],
    ["network policies off, backups to S3", () => renderComponent("db", { image: IMAGE, backup: { enabled: true, s3Bucket: "bkp", s3Endpoint: "s3.example.com", s3CredentialsSecret: "c" }, networkPolicy: { enabled: false } })],
    [
        "a restore to a point in time",
        () => renderComponent("db", { image: IMAGE, restore: { fromClusterName: "old", targetType: "time", target: "2026-11-25 20:00:00+00" }, backup: { repositoryType: "volume", volumeClaimName: "old-backups" } }),
    ],
    [
        "monitoring with the Prometheus operator's objects and a dashboard, with Patroni",
        () => renderComponent("db", { failover: "patroni", image: IMAGE, monitoring: { enabled: true, prometheusOperator: true, grafanaDashboard: true } }),
    ],
    [
        "a standby cluster",
        () => renderComponent("db", { standby: { enabled: true, sourceHosts: ["db-rw.databases.svc.eu-west.example"], replicationSecretName: "source-replication", sourceCaCertificate: CA } }),
    ],
];

export const STACK_VARIANTS: { what: string; render: () => Promise<Rendered> }[] = CASES.map(([what, render]) => ({ what, render }));

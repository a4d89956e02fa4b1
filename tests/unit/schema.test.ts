/**
 * Every rendered manifest validates against the Kubernetes OpenAPI schemas shipped by kubernetes-models
 * (types, required fields, enums, formats). This is the API server's schema check, not its admission
 * logic: immutability rules and cross-object checks need a real cluster.
 */
import * as assert from "assert";
import { Manifest } from "../../render/manifests";
import { renderProgram } from "../../render/render";
import { readStackConfig } from "../../render/stackConfig";
import { STATIC_ARGS, renderComponent } from "./helpers";

// kubernetes-models is ESM only; a real dynamic import (ts-node would turn `import()` into `require`).
const importEsm = new Function("specifier", "return import(specifier)") as (s: string) => Promise<any>;

async function validate(m: Manifest): Promise<void> {
    const mod = await importEsm(`kubernetes-models/${m.apiVersion}`);
    const Model = mod[m.kind];
    assert.ok(Model, `kubernetes-models has no ${m.apiVersion} ${m.kind}`);
    try {
        new Model(m).validate();
    } catch (err) {
        assert.fail(`${m.kind} ${m.metadata.name} is invalid: ${(err as Error).message}`);
    }
}

describe("Kubernetes schema validation", () => {
    const cases: [string, () => ReturnType<typeof renderComponent>][] = [
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
        ["the prod stack", () => renderProgram(readStackConfig("prod"))],
    ];
    for (const [what, render] of cases) {
        it(`accepts every object for ${what}`, async () => {
            const r = await render();
            assert.ok(r.manifests.length >= 10);
            // kubernetes-models has no schema of cert-manager's Certificate (a CRD); tests/unit/tls.test.ts checks its fields.
            for (const m of r.manifests.filter((x) => !x.apiVersion.startsWith("cert-manager.io/"))) {
                await validate(m);
            }
        });
    }

    it("catches an invalid object (the check is not vacuous)", async () => {
        const r = await renderComponent("db");
        const sts = JSON.parse(JSON.stringify(r.manifests.find((m) => m.kind === "StatefulSet")));
        sts.spec.replicas = "three";
        await assert.rejects(validate(sts), /is invalid/);
        const svc = JSON.parse(JSON.stringify(r.manifests.find((m) => m.kind === "Service")));
        svc.spec.ports[0].port = "x";
        await assert.rejects(validate(svc), /is invalid/);
        const np = JSON.parse(JSON.stringify(r.manifests.find((m) => m.kind === "NetworkPolicy")));
        np.spec.ingress[0].ports[0].protocol = 6;
        await assert.rejects(validate(np), /is invalid/);
    });
});

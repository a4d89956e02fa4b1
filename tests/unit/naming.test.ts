/**
 * Names are part of the contract: a renamed Pulumi resource is replaced, and a renamed claim orphans its
 * data. These tests pin them down; change them only with a migration (aliases) in mind.
 */
import * as assert from "assert";
import { ReplicatedDatabaseArgs } from "../../components/args";
import { TYPE_TOKEN } from "../../components/replicatedDatabase";
import { renderComponent } from "../../render/render";
import { STATIC_ARGS } from "./helpers";

const PATRONI_IMAGE = "registry.example.com/postgres-patroni:17.6";
/** Each failover mode, with what it needs, and the default (manual). */
const MODES: Record<string, ReplicatedDatabaseArgs> = { default: {}, manual: { failover: "manual" }, patroni: { failover: "patroni", image: PATRONI_IMAGE } };
/** The Role's and RoleBinding's name suffix per mode: renaming them would replace the objects. */
const RBAC_SUFFIX: Record<string, string> = { default: "labeler", manual: "labeler", patroni: "patroni" };

describe("naming stability", () => {
    it("uses the type token replicated-db:index:ReplicatedDatabase", () => {
        assert.strictEqual(TYPE_TOKEN, "replicated-db:index:ReplicatedDatabase");
    });

    it("parents every child to the component and names it <name>-<role>", async () => {
        const r = await renderComponent("orders", STATIC_ARGS);
        const children = r.resources.filter((x) => x.type !== TYPE_TOKEN && x.type !== "pulumi:pulumi:Stack");
        assert.ok(children.length > 10);
        for (const c of children) {
            assert.strictEqual(c.options.parent, "orders", `${c.name} is not parented to the component`);
            assert.ok(c.name.startsWith("orders-"), `${c.name} is not named orders-<role>`);
        }
    });

    for (const [mode, extra] of Object.entries(MODES)) {
        it(`keeps the Pulumi resource names (failover: ${mode})`, async () => {
            await assertPulumiNames({ ...STATIC_ARGS, replicas: 1, ...extra }, mode === "patroni" ? ["RandomPassword db-patroni-api-password"] : []);
        });
        it(`keeps the Kubernetes object names, the claims' above all (failover: ${mode})`, async () => {
            await assertKubernetesNames({ ...STATIC_ARGS, replicas: 1, namespace: "shop", clusterName: "pg", ...extra }, RBAC_SUFFIX[mode]);
        });
    }

    it("keeps the names of the deprecated automatedFailover's modes", async () => {
        await assertKubernetesNames({ ...STATIC_ARGS, replicas: 1, namespace: "shop", clusterName: "pg", automatedFailover: true, image: PATRONI_IMAGE }, "patroni");
        await assertKubernetesNames({ ...STATIC_ARGS, replicas: 1, namespace: "shop", clusterName: "pg", automatedFailover: false }, "labeler");
    });

    it("keeps the same names when only the sizes and counts change", async () => {
        const a = await renderComponent("db", { replicas: 2, storageSize: "10Gi" });
        const b = await renderComponent("db", { replicas: 2, storageSize: "20Gi", resources: { memoryLimit: "4Gi" } });
        const names = (r: typeof a) => r.resources.map((x) => x.name).sort();
        assert.deepStrictEqual(names(a), names(b));
    });
});

async function assertPulumiNames(args: ReplicatedDatabaseArgs, modeOwn: string[]): Promise<void> {
    const r = await renderComponent("db", args);
    const names = r.resources.filter((x) => x.type !== "pulumi:pulumi:Stack").map((x) => `${x.type.split(":").pop()} ${x.name}`);
    assert.deepStrictEqual(names.sort(), [
        "CertRequest db-tls-request",
        "ChangeGuard db-guard",
        "ConfigMap db-alert-rules",
        "ConfigMap db-config",
        "ConfigMap db-scripts",
        "LocallySignedCert db-tls-server",
        "NetworkPolicy db-networkpolicy",
        "PersistentVolume db-pv-0",
        "PersistentVolume db-pv-1",
        "PersistentVolumeClaim db-pvc-0",
        "PersistentVolumeClaim db-pvc-1",
        "PodDisruptionBudget db-pdb",
        "PrivateKey db-tls-ca-key",
        "PrivateKey db-tls-server-key",
        "RandomPassword db-app-password",
        "RandomPassword db-monitoring-password",
        "RandomPassword db-replication-password",
        "RandomPassword db-rewind-password",
        "RandomPassword db-superuser-password",
        "ReplicatedDatabase db",
        "Role db-role",
        "RoleBinding db-rolebinding",
        "Secret db-secret",
        "Secret db-tls-secret",
        "SelfSignedCert db-tls-ca",
        "Service db-headless",
        "Service db-ro",
        "Service db-rw",
        "ServiceAccount db-serviceaccount",
        "StatefulSet db-statefulset",
        "StorageClass db-storageclass",
        "ValidatingAdmissionPolicy db-pod-update-policy",
        "ValidatingAdmissionPolicyBinding db-pod-update-policy-binding",
        ...modeOwn,
    ].sort());
}

async function assertKubernetesNames(args: ReplicatedDatabaseArgs, rbacSuffix: string): Promise<void> {
    const r = await renderComponent("db", args);
    const names = r.manifests.map((m) => `${m.kind} ${m.metadata.namespace ?? "-"}/${m.metadata.name}`);
    assert.deepStrictEqual(names.sort(), [
        "ConfigMap shop/pg-alert-rules",
        "ConfigMap shop/pg-scripts",
        "ConfigMap shop/pg-settings",
        "NetworkPolicy shop/pg",
        "PersistentVolume -/shop-pg-data-0",
        "PersistentVolume -/shop-pg-data-1",
        "PersistentVolumeClaim shop/data-pg-0",
        "PersistentVolumeClaim shop/data-pg-1",
        "PodDisruptionBudget shop/pg",
        `Role shop/pg-${rbacSuffix}`,
        `RoleBinding shop/pg-${rbacSuffix}`,
        "Secret shop/pg-credentials",
        "Secret shop/pg-tls",
        "Service shop/pg-headless",
        "Service shop/pg-ro",
        "Service shop/pg-rw",
        "ServiceAccount shop/pg",
        "StatefulSet shop/pg",
        "StorageClass -/shop-pg",
        "ValidatingAdmissionPolicy -/replicated-db.shop.pg.pod-updates",
        "ValidatingAdmissionPolicyBinding -/replicated-db.shop.pg.pod-updates",
    ]);
}

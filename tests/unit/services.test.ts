/** Services, RBAC for the role labeler, ConfigMaps and the recommended labels. */
import * as assert from "assert";
import { ROLE_LABEL } from "../../components/naming";
import { renderComponent } from "../../render/render";
import { find } from "./helpers";

describe("Services, RBAC and ConfigMaps", () => {
    it("publishes every pod through the headless Service, ready or not", async () => {
        const svc = find(await renderComponent("db"), "Service", "db-headless");
        assert.strictEqual(svc.spec.clusterIP, "None");
        assert.strictEqual(svc.spec.publishNotReadyAddresses, true);
        assert.deepStrictEqual(svc.spec.selector, { "app.kubernetes.io/name": "postgresql", "app.kubernetes.io/instance": "db" });
    });

    it("sends writes to the pod labelled primary and reads to the pods labelled replica", async () => {
        const r = await renderComponent("db");
        const rw = find(r, "Service", "db-rw");
        const ro = find(r, "Service", "db-ro");
        assert.strictEqual(rw.spec.selector[ROLE_LABEL], "primary");
        assert.strictEqual(ro.spec.selector[ROLE_LABEL], "replica");
        assert.strictEqual(rw.spec.selector["app.kubernetes.io/instance"], "db");
        assert.deepStrictEqual(rw.spec.ports, [{ name: "postgresql", port: 5432, targetPort: "postgresql", protocol: "TCP" }]);
        // The pods carry no role label in their template: the sidecar sets it from what the server reports.
        assert.ok(!(ROLE_LABEL in find(r, "StatefulSet").spec.template.metadata.labels));
    });

    it("lets the pods label only themselves", async () => {
        const r = await renderComponent("db", { replicas: 1 });
        const role = find(r, "Role");
        assert.deepStrictEqual(role.rules, [{ apiGroups: [""], resources: ["pods"], resourceNames: ["db-0", "db-1"], verbs: ["get", "patch"] }]);
        const binding = find(r, "RoleBinding");
        assert.deepStrictEqual(binding.roleRef, { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: role.metadata.name });
        assert.deepStrictEqual(binding.subjects, [{ kind: "ServiceAccount", name: "db", namespace: "default" }]);
        assert.strictEqual(find(r, "ServiceAccount").automountServiceAccountToken, false);
    });

    it("ships the server configuration and the live pod count", async () => {
        const r = await renderComponent("db", { replicas: 3, parameters: { work_mem: "16MB" }, maxSlotWalKeepSize: "4GB" });
        const data = find(r, "ConfigMap", "db-settings").data;
        assert.strictEqual(data["pod-count"], "4");
        assert.match(data["postgresql.conf"], /^wal_level = 'replica'$/m);
        assert.match(data["postgresql.conf"], /^hot_standby = 'on'$/m);
        assert.match(data["postgresql.conf"], /^max_slot_wal_keep_size = '4GB'$/m);
        assert.match(data["postgresql.conf"], /^work_mem = '16MB'$/m);
        assert.match(data["postgresql.conf"], /^shared_buffers = '256MB'$/m);
        assert.match(data["pg_hba.conf"], /^hostssl replication replicator all scram-sha-256$/m);
        assert.doesNotMatch(data["pg_hba.conf"], /trust/);
        assert.doesNotMatch(data["postgresql.conf"], /synchronous_standby_names/, "asynchronous by default");
    });

    it("asks for ANY k synchronous standbys, by any name, so that scaling changes nothing", async () => {
        const conf = async (replicas: number) =>
            find(await renderComponent("db", { replicas, synchronousReplicas: 1 }), "ConfigMap", "db-settings").data["postgresql.conf"];
        assert.match(await conf(2), /^synchronous_standby_names = 'ANY 1 \(\*\)'$/m);
        assert.strictEqual(await conf(2), await conf(4));
    });

    it("puts the recommended labels on every object", async () => {
        const r = await renderComponent("db");
        for (const m of r.manifests) {
            const l = m.metadata.labels ?? {};
            assert.strictEqual(l["app.kubernetes.io/name"], "postgresql", `${m.kind} ${m.metadata.name}`);
            assert.strictEqual(l["app.kubernetes.io/instance"], "db", `${m.kind} ${m.metadata.name}`);
            assert.strictEqual(l["app.kubernetes.io/managed-by"], "pulumi");
            assert.strictEqual(l["app.kubernetes.io/part-of"], "replicated-db");
            // Volumes and claims leave the version out: an image bump must not touch them.
            const isStorage = l["app.kubernetes.io/component"] === "storage";
            assert.strictEqual(l["app.kubernetes.io/version"], isStorage ? undefined : "17.6-bookworm", `${m.kind} ${m.metadata.name}`);
            assert.ok(l["app.kubernetes.io/component"], `${m.kind} has no component label`);
        }
    });
});

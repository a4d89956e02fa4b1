/**
 * Topologies (who decides the primary) as rendered: each one's database container, sidecars, token, RBAC,
 * configuration and scripts; the scripts ConfigMap holds only the chosen topology's scripts (that only they
 * roll its pods is tests/integration/topology-checksum.test.ts, on a copy of the build).
 */
import * as assert from "assert";
import { getEngine, getTopology, topologyNames } from "../../components/engines";
import { Rendered } from "../../render/render";
import { find, renderComponent } from "./helpers";
import { folderScripts } from "../scriptFolders";

const IMAGE = "registry.example.com/postgres-patroni:17.6";
const MANUAL = { failover: "manual" };
const PATRONI = { failover: "patroni", image: IMAGE };

const podSpec = (r: Rendered) => find(r, "StatefulSet").spec.template.spec;

describe("topologies", () => {
    it("are what the PostgreSQL engine offers, under their failover names", () => {
        const pg = getEngine("postgresql");
        assert.deepStrictEqual(topologyNames(pg), ["manual", "patroni"]);
        assert.deepStrictEqual(["manual", "patroni"].map((t) => getTopology(pg, t).rbacSuffix), ["labeler", "patroni"]);
        assert.throws(() => getTopology(pg, "raft"), /engine postgresql has no topology "raft" \(known: manual, patroni\)/);
    });

    describe("manual", () => {
        it("runs our entrypoint with the labeler sidecar, which alone holds the API token", async () => {
            const spec = podSpec(await renderComponent("db", { ...MANUAL, labelerImage: "example.org/curl:1" }));
            assert.deepStrictEqual(spec.containers.map((c: any) => c.name), ["postgres", "role-labeler", "metrics-exporter"]);
            const pg = spec.containers[0];
            assert.deepStrictEqual(pg.command, ["/bin/bash", "/etc/replicated-db/scripts/entrypoint.sh"]);
            assert.deepStrictEqual(pg.ports.map((p: any) => p.name), ["postgresql"]);
            assert.ok(!pg.volumeMounts.some((m: any) => m.name === "kube-api-access"));
            const labeler = spec.containers[1];
            assert.strictEqual(labeler.image, "example.org/curl:1");
            assert.deepStrictEqual(labeler.command, ["/bin/sh", "/etc/replicated-db/scripts/role-labeler.sh"]);
            assert.deepStrictEqual(labeler.volumeMounts, [
                { name: "scripts", mountPath: "/etc/replicated-db/scripts", readOnly: true },
                { name: "run", mountPath: "/run/replicated-db", readOnly: true },
                { name: "labeler-state", mountPath: "/run/role-labeler" },
                { name: "kube-api-access", mountPath: "/var/run/secrets/kubernetes.io/serviceaccount", readOnly: true },
            ]);
            const dir = labeler.env.find((e: any) => e.name === "RDB_SERVICEACCOUNT_DIR").value;
            assert.strictEqual(dir, "/var/run/secrets/kubernetes.io/serviceaccount");
            assert.strictEqual(labeler.securityContext.readOnlyRootFilesystem, true);
            assert.deepStrictEqual(labeler.securityContext.capabilities, { drop: ["ALL"] });
        });

        it("grants get and patch on this StatefulSet's pods by name, under <cluster>-labeler", async () => {
            const r = await renderComponent("db", { ...MANUAL, clusterName: "pg", replicas: 2 });
            const role = find(r, "Role", "pg-labeler");
            assert.deepStrictEqual(role.rules, [{ apiGroups: [""], resources: ["pods"], resourceNames: ["pg-0", "pg-1", "pg-2"], verbs: ["get", "patch"] }]);
            assert.strictEqual(find(r, "RoleBinding", "pg-labeler").roleRef.name, "pg-labeler");
        });

        it("ships postgresql.conf and pg_hba.conf, and exactly the common and manual scripts", async () => {
            const r = await renderComponent("db", MANUAL);
            assert.deepStrictEqual(Object.keys(find(r, "ConfigMap", "db-settings").data).sort(), ["exporter-queries.yaml", "pg_hba.conf", "pod-count", "postgresql.conf", "primary-ordinal"]);
            const shipped = find(r, "ConfigMap", "db-scripts").data;
            assert.deepStrictEqual(shipped, folderScripts("common", "manual"));
            assert.ok("entrypoint.sh" in shipped && "role-labeler.sh" in shipped && "lib.sh" in shipped);
            for (const f of Object.keys(folderScripts("patroni"))) assert.ok(!(f in shipped), `${f} shipped in manual mode`);
        });
    });

    describe("patroni", () => {
        it("runs Patroni in the database container, which gets the token; no sidecar", async () => {
            const spec = podSpec(await renderComponent("db", PATRONI));
            assert.deepStrictEqual(spec.containers.map((c: any) => c.name), ["postgres", "metrics-exporter"]);
            const pg = spec.containers[0];
            assert.deepStrictEqual(pg.command, ["/bin/bash", "/etc/replicated-db/scripts/patroni.sh"]);
            assert.deepStrictEqual(pg.volumeMounts.find((m: any) => m.name === "kube-api-access"), { name: "kube-api-access", mountPath: "/var/run/secrets/kubernetes.io/serviceaccount", readOnly: true });
            // Readiness is an exec probe that only reads patroni.sh's state file (2 s, as in the manual mode);
            // liveness stays Patroni's REST API with its timings.
            assert.deepStrictEqual(pg.readinessProbe.exec.command, ["/bin/bash", "/etc/replicated-db/scripts/probe.sh", "readiness"]);
            assert.deepStrictEqual([pg.readinessProbe.timeoutSeconds, pg.livenessProbe.timeoutSeconds], [2, 5]);
            assert.deepStrictEqual(pg.livenessProbe.httpGet, { path: "/liveness", port: "patroni", scheme: "HTTPS" });
            assert.ok(!pg.env.some((e: any) => e.name === "RDB_REPLICA_GATE" || e.name === "RDB_LISTEN_ADDRESSES"));
        });

        it("grants ConfigMaps and pods in the namespace under <cluster>-patroni", async () => {
            const r = await renderComponent("db", { ...PATRONI, clusterName: "pg" });
            const role = find(r, "Role", "pg-patroni");
            assert.deepStrictEqual(role.rules.map((x: any) => x.resources[0]), ["configmaps", "configmaps", "pods", "pods"]);
            assert.strictEqual(find(r, "RoleBinding", "pg-patroni").roleRef.name, "pg-patroni");
        });

        it("ships patroni.yml, its dynamic settings and pg_hba.conf, and exactly the common and patroni scripts", async () => {
            const r = await renderComponent("db", PATRONI);
            assert.deepStrictEqual(Object.keys(find(r, "ConfigMap", "db-settings").data).sort(), ["exporter-queries.yaml", "fence-after-seconds", "patroni-dynamic.json", "patroni.yml", "pg_hba.conf", "pod-count", "primary-ordinal"]);
            const shipped = find(r, "ConfigMap", "db-scripts").data;
            assert.deepStrictEqual(shipped, folderScripts("common", "patroni"));
            assert.ok("patroni.sh" in shipped && "patroni-callback.sh" in shipped && "lib.sh" in shipped);
            for (const f of Object.keys(folderScripts("manual"))) assert.ok(!(f in shipped), `${f} shipped in patroni mode`);
        });

        it("takes the engine's name for Patroni's member labels from the pods' selector", async () => {
            const r = await renderComponent("db", PATRONI);
            const config = JSON.parse(find(r, "ConfigMap", "db-settings").data["patroni.yml"]);
            assert.deepStrictEqual(config.kubernetes.labels, { "app.kubernetes.io/name": find(r, "StatefulSet").spec.selector.matchLabels["app.kubernetes.io/name"] });
        });
    });
});

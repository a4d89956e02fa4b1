/** The examples in examples/, evaluated under mocks against the built package, as a consumer would run them. */
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { renderProgram } from "../../render/render";
import { restrictedViolations } from "../unit/podSecurity";
import { ROOT, buildOnce } from "./build";

const EXAMPLES = path.join(ROOT, "examples");

describe("examples", () => {
    before(function () {
        this.timeout(120000);
        // What `npm install` does in an example: build the package and link it as node_modules/replicated-db.
        buildOnce();
        for (const example of ["two-databases", "disaster-recovery/source", "disaster-recovery/standby"]) {
            const modules = path.join(EXAMPLES, example, "node_modules");
            fs.mkdirSync(modules, { recursive: true });
            const link = path.join(modules, "replicated-db");
            if (!fs.existsSync(link)) fs.symlinkSync(ROOT, link, "dir");
        }
    });

    it("two-databases: two clusters in two namespaces, with their own sizes and secret outputs", async () => {
        const r = await renderProgram({}, { program: path.join(EXAMPLES, "two-databases", "index.ts"), project: "two-databases" });
        const sets = r.manifests.filter((m) => m.kind === "StatefulSet");
        assert.deepStrictEqual(sets.map((s) => `${s.metadata.namespace}/${s.metadata.name}`).sort(), ["analytics/analytics", "orders/orders"]);
        const size = (ns: string) => sets.find((s) => s.metadata.namespace === ns)!.spec.volumeClaimTemplates[0].spec.resources.requests.storage;
        assert.strictEqual(size("orders"), "50Gi");
        assert.strictEqual(size("analytics"), "200Gi");
        assert.strictEqual(sets.find((s) => s.metadata.namespace === "analytics")!.spec.replicas, 2);
        assert.match(r.outputs.ordersWriteUrl, /@orders-rw\.orders\.svc\.cluster\.local:5432\/app\?sslmode=verify-full$/);
        assert.deepStrictEqual([...r.secretOutputs].sort(), ["analyticsReadUrl", "analyticsWriteUrl", "ordersReadUrl", "ordersWriteUrl"]);
        // The two clusters share no object name within a namespace, and no cluster-scoped name.
        const keys = r.manifests.map((m) => `${m.kind}/${m.metadata.namespace ?? ""}/${m.metadata.name}`);
        assert.strictEqual(new Set(keys).size, keys.length);
        // Its namespaces enforce Pod Security "restricted", which these pods pass (tests/unit/pod-security.test.ts).
        for (const ns of r.manifests.filter((m) => m.kind === "Namespace")) {
            assert.strictEqual(ns.metadata.labels["pod-security.kubernetes.io/enforce"], "restricted", ns.metadata.name);
        }
        for (const s of sets) assert.deepStrictEqual(restrictedViolations(s.spec.template.spec), [], s.metadata.name);
    });

    it("app-stack: hands the database stack's connection strings to a Deployment as a secret, and its CA as a file", async () => {
        const url = "postgresql://app:s3cret@db-rw.default.svc.cluster.local:5432/app?sslmode=verify-full";
        const caCertificate = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
        const r = await renderProgram(
            { "shop-app:databaseStack": "acme/replicated-db/dev" },
            {
                program: path.join(EXAMPLES, "app-stack", "index.ts"),
                project: "shop-app",
                stacks: {
                    "acme/replicated-db/dev": {
                        writeConnectionString: url,
                        readConnectionString: url.replace("-rw", "-ro"),
                        primaryHost: "db-rw.default.svc.cluster.local",
                        caCertificate,
                    },
                },
            },
        );
        const secret = r.resources.find((x) => x.type === "kubernetes:core/v1:Secret")!;
        assert.strictEqual(secret.inputs.stringData.DATABASE_URL, url);
        assert.ok(secret.secretPaths.some((p) => p.startsWith("stringData")), "the connection strings must stay secret");
        const deployment = r.manifests.find((m) => m.kind === "Deployment")!;
        assert.deepStrictEqual(deployment.spec.template.spec.containers[0].envFrom, [{ secretRef: { name: "app-database" } }]);
        assert.ok(!JSON.stringify(deployment).includes("s3cret"));
        assert.strictEqual(r.outputs.databaseHost, "db-rw.default.svc.cluster.local");
        // The CA is public: a ConfigMap, mounted where PGSSLROOTCERT points.
        assert.strictEqual(r.manifests.find((m) => m.kind === "ConfigMap" && m.metadata.name === "app-database-ca")!.data["ca.crt"], caCertificate);
        const pod = deployment.spec.template.spec;
        assert.deepStrictEqual(pod.volumes, [{ name: "database-ca", configMap: { name: "app-database-ca" } }]);
        assert.deepStrictEqual(pod.containers[0].volumeMounts, [{ name: "database-ca", mountPath: "/etc/database-ca", readOnly: true }]);
        assert.deepStrictEqual(pod.containers[0].env, [{ name: "PGSSLROOTCERT", value: "/etc/database-ca/ca.crt" }]);
    });

    describe("disaster-recovery: a source stack and a standby stack that reads it through a StackReference", () => {
        const caCertificate = "-----BEGIN CERTIFICATE-----\nMIIBsource\n-----END CERTIFICATE-----\n";
        const sourceOutputs = { standbyHosts: ["db.eu-west.example.com"], caCertificate, replicationPassword: "s3cret-replication" };
        const standby = (promote: string) =>
            renderProgram(
                { "dr-standby:sourceStack": "acme/dr-source/eu-west", "dr-standby:promote": promote },
                { program: path.join(EXAMPLES, "disaster-recovery", "standby", "index.ts"), project: "dr-standby", stacks: { "acme/dr-source/eu-west": sourceOutputs } },
            );

        it("source: carries the public name in its certificate, lets the standby region in, exports what the standby needs", async () => {
            const r = await renderProgram(
                { "dr-source:publicHost": "db.eu-west.example.com", "dr-source:standbyCidrs": JSON.stringify(["198.51.100.0/24"]) },
                { program: path.join(EXAMPLES, "disaster-recovery", "source", "index.ts"), project: "dr-source" },
            );
            const names: string[] = r.resources.find((x) => x.name === "db-tls-request")!.inputs.dnsNames;
            assert.ok(names.includes("db.eu-west.example.com"));
            const policy = r.manifests.find((m) => m.kind === "NetworkPolicy" && m.metadata.name === "db")!;
            assert.ok(policy.spec.ingress.some((i: any) => i.from?.[0]?.ipBlock?.cidr === "198.51.100.0/24"));
            const lb = r.manifests.find((m) => m.kind === "Service" && m.metadata.name === "db-external")!;
            assert.strictEqual(lb.spec.selector["replicated-db.io/role"], "primary");
            assert.deepStrictEqual(lb.spec.loadBalancerSourceRanges, ["198.51.100.0/24"]);
            assert.deepStrictEqual(r.outputs.standbyHosts, ["db.eu-west.example.com"]);
            assert.match(r.outputs.caCertificate, /^-----BEGIN CERTIFICATE-----/);
            assert.ok(r.secretOutputs.includes("replicationPassword"), "the replication password must stay a secret output");
        });

        it("standby: streams from the source's name with its CA, the source's replication password in a Secret of its own", async () => {
            const r = await standby("false");
            const config = r.manifests.find((m) => m.kind === "ConfigMap" && m.metadata.name === "db-settings")!.data;
            assert.strictEqual(config["standby-hosts"], "db.eu-west.example.com");
            assert.strictEqual(config["standby-ca.crt"], caCertificate);
            const secret = r.resources.find((x) => x.type === "kubernetes:core/v1:Secret" && x.name === "source-replication")!;
            assert.strictEqual(secret.inputs.stringData["replication-password"], "s3cret-replication");
            assert.ok(secret.secretPaths.some((p) => p.startsWith("stringData")), "the password must stay secret");
            const sts = r.manifests.find((m) => m.kind === "StatefulSet")!;
            assert.ok(sts.spec.template.spec.volumes.some((v: any) => v.secret?.secretName === "source-replication"));
        });

        it("standby: promote=true empties standby-hosts and changes nothing else of the cluster's pods", async () => {
            const before = await standby("false");
            const after = await standby("true");
            assert.strictEqual(after.manifests.find((m) => m.kind === "ConfigMap" && m.metadata.name === "db-settings")!.data["standby-hosts"], "");
            const sts = (r: typeof before) => JSON.stringify(r.manifests.find((m) => m.kind === "StatefulSet"));
            assert.strictEqual(sts(after), sts(before));
        });
    });
});

/** The program (index.ts) evaluated per stack: outputs, secrecy, and nothing created on bad config. */
import * as assert from "assert";
import { OUTPUTS, OUTPUT_NAMES } from "../../components/outputs";
import { registeredBefore, renderProgram } from "../../render/render";
import { readStackConfig } from "../../render/stackConfig";

const SECRET_OUTPUTS = OUTPUT_NAMES.filter((n) => OUTPUTS[n].secret);

describe("the program", () => {
    it("exports hosts, port, pod names and secret connection strings for the dev stack", async () => {
        const r = await renderProgram(readStackConfig("dev"));
        const o = r.outputs;
        assert.strictEqual(o.primaryHost, "db-rw.default.svc.cluster.local");
        assert.strictEqual(o.readOnlyHost, "db-ro.default.svc.cluster.local");
        assert.strictEqual(o.port, 5432);
        assert.deepStrictEqual(o.podHosts, [0, 1, 2].map((i) => `db-${i}.db-headless.default.svc.cluster.local`));
        assert.match(o.writeConnectionString, /^postgresql:\/\/app:[A-Za-z0-9]{32}@db-rw\.default\.svc\.cluster\.local:5432\/app\?sslmode=verify-full$/);
        assert.deepStrictEqual([...r.secretOutputs].sort(), [...SECRET_OUTPUTS].sort());
        assert.ok(SECRET_OUTPUTS.includes("appPassword") && SECRET_OUTPUTS.includes("writeMultiHostConnectionString"));
        assert.match(o.writeMultiHostConnectionString, /^postgresql:\/\/app:[A-Za-z0-9]{32}@db-0\.db-headless[^,]*:5432,db-1\.[^,]*,db-2\.[^/]*\/app\?target_session_attrs=read-write&sslmode=verify-full$/);
        for (const plain of ["primaryHost", "readOnlyHost", "podHosts", "port"]) {
            assert.ok(!r.secretOutputs.includes(plain), `${plain} should be plain`);
        }
    });
    it("follows the prod stack's namespace and replica count", async () => {
        const r = await renderProgram(readStackConfig("prod"));
        const sts = r.manifests.find((m) => m.kind === "StatefulSet")!;
        assert.strictEqual(sts.metadata.namespace, "databases");
        assert.strictEqual(sts.spec.replicas, Number(readStackConfig("prod")["replicated-db:replicas"]) + 1);
        assert.strictEqual(r.manifests.filter((m) => m.kind === "PersistentVolume").length, 0);
        assert.strictEqual(sts.spec.volumeClaimTemplates[0].spec.storageClassName, "gp3");
        assert.strictEqual(sts.spec.volumeClaimTemplates[0].spec.resources.requests.storage, "100Gi");
        // Production keeps the pods on separate nodes and spread over the zones, or leaves them Pending.
        assert.ok(sts.spec.template.spec.affinity.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution);
        assert.strictEqual(sts.spec.template.spec.topologySpreadConstraints[0].whenUnsatisfiable, "DoNotSchedule");
    });
    it("keeps the dev stack's placement soft, so that its single node runs every pod", async () => {
        const sts = (await renderProgram(readStackConfig("dev"))).manifests.find((m) => m.kind === "StatefulSet")!;
        assert.strictEqual(sts.spec.template.spec.affinity.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution, undefined);
        assert.strictEqual(sts.spec.template.spec.topologySpreadConstraints[0].whenUnsatisfiable, "ScheduleAnyway");
    });
    it("registers no resource at all when the config is bad", async () => {
        const config = { ...readStackConfig("dev"), "replicated-db:replicas": "-2" };
        const err = await renderProgram(config).then(
            () => assert.fail("the render should fail"),
            (e: Error) => e,
        );
        assert.match(err.message, /^invalid replicated-db:replicas: -2 \(allowed: a whole number from 0 to 30\)$/);
        assert.deepStrictEqual(registeredBefore(err), []);
    });
});

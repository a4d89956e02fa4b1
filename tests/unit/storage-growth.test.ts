/** What `pulumi up` does to a running cluster when storageSize grows or replicas shrink (see plan.ts). */
import * as assert from "assert";
import { DELETION_POLICY_ANNOTATION } from "../../components/resources/statefulset";
import { plan, step } from "./plan";
import { STATIC_ARGS, find, resource, renderComponent } from "./helpers";

describe("storage growth and scale-down", () => {
    it("grows static claims and volumes in place and replaces the StatefulSet with orphaning deletion", async () => {
        const before = await renderComponent("db", STATIC_ARGS);
        const after = await renderComponent("db", { ...STATIC_ARGS, storageSize: "5Gi" });
        const p = plan(before, after);
        for (let i = 0; i <= 2; i++) {
            assert.strictEqual(p[`db-pvc-${i}`], "update", `claim ${i}`);
            assert.strictEqual(p[`db-pv-${i}`], "update", `volume ${i}`);
        }
        assert.strictEqual(p["db-statefulset"], "replace");
        assert.deepStrictEqual(
            Object.entries(p).filter(([, s]) => s === "replace" || s === "delete" || s === "create").map(([n]) => n),
            ["db-statefulset"],
        );
        const sts = resource(after, "db-statefulset");
        assert.strictEqual(sts.inputs.metadata.annotations[DELETION_POLICY_ANNOTATION], "orphan");
        assert.strictEqual(sts.options.deleteBeforeReplace, true);
        // The claims are updated before the StatefulSet is touched: a refused resize stops the update there.
        assert.ok(sts.options.dependsOn.includes("db-pvc-0"));
        assert.strictEqual(find(after, "PersistentVolumeClaim", "data-db-1").spec.resources.requests.storage, "5Gi");
    });

    it("grows dynamically provisioned claims with a patch that owns only their size", async () => {
        const before = await renderComponent("db", { storageClassName: "gp3", storageSize: "10Gi" });
        const after = await renderComponent("db", { storageClassName: "gp3", storageSize: "20Gi" });
        const p = plan(before, after);
        for (let i = 0; i <= 2; i++) {
            assert.strictEqual(p[`db-claim-size-${i}`], "update");
            const patch = resource(after, `db-claim-size-${i}`);
            assert.strictEqual(patch.type, "kubernetes:core/v1:PersistentVolumeClaimPatch");
            assert.strictEqual(patch.inputs.metadata.name, `data-db-${i}`);
            assert.deepStrictEqual(patch.inputs.spec, { resources: { requests: { storage: "20Gi" } } });
            assert.strictEqual(patch.inputs.metadata.annotations["pulumi.com/patchForce"], "true");
            assert.deepStrictEqual(patch.options.dependsOn, ["db-statefulset"]);
        }
        assert.strictEqual(p["db-statefulset"], "replace");
    });

    it("changes nothing that holds data when only the image or resources change", async () => {
        const before = await renderComponent("db", STATIC_ARGS);
        const after = await renderComponent("db", { ...STATIC_ARGS, image: "postgres:17.7", resources: { memoryLimit: "2Gi" } });
        const p = plan(before, after);
        assert.strictEqual(p["db-statefulset"], "update", "a new image rolls the pods, it does not replace the StatefulSet");
        for (const [name, s] of Object.entries(p)) {
            if (/pv|pvc|claim/.test(name)) assert.strictEqual(s, "same", name);
        }
    });

    it("scaling down removes claims from the program but keeps them in the cluster", async () => {
        const before = await renderComponent("db", { ...STATIC_ARGS, replicas: 3 });
        const after = await renderComponent("db", { ...STATIC_ARGS, replicas: 1 });
        const p = plan(before, after);
        assert.strictEqual(p["db-pvc-3"], "delete");
        // retainOnDelete: Pulumi forgets them without deleting the objects; the PVs are Retain too.
        assert.strictEqual(resource(before, "db-pvc-3").options.retainOnDelete, true);
        assert.strictEqual(resource(before, "db-pv-3").options.retainOnDelete, true);
        assert.strictEqual(p["db-statefulset"], "update");
        const dynamic = plan(await renderComponent("db", { replicas: 3 }), await renderComponent("db", { replicas: 1 }));
        assert.strictEqual(dynamic["db-claim-size-3"], "delete", "a deleted patch gives its field up; the claim stays");
    });

    it("the model itself tells an update from a replacement", () => {
        const r = (type: string, inputs: any) => ({ type, name: "x", inputs, secretPaths: [], read: false, custom: true, options: {} as any });
        const pvc = "kubernetes:core/v1:PersistentVolumeClaim";
        assert.strictEqual(step(r(pvc, { spec: { storageClassName: "a" } }), r(pvc, { spec: { storageClassName: "b" } })), "replace");
        assert.strictEqual(step(r(pvc, { spec: { resources: { requests: { storage: "1Gi" } } } }), r(pvc, { spec: { resources: { requests: { storage: "2Gi" } } } })), "update");
        assert.strictEqual(step(r(pvc, { metadata: { name: "a" } }), r(pvc, { metadata: { name: "b" } })), "replace");
    });
});

/** What `pulumi up` does to a running cluster when storageSize grows or replicas shrink (see plan.ts). */
import * as assert from "assert";
import { DELETION_POLICY_ANNOTATION, VOLUME_CLAIM_TEMPLATES } from "../../components/builders/statefulset";
import { plan, step } from "./plan";
import { STATIC_ARGS, find, resource, renderComponent } from "./helpers";

describe("storage growth and scale-down", () => {
    it("grows static claims and volumes in place and leaves the StatefulSet, its pods and its first template alone", async () => {
        const before = await renderComponent("db", STATIC_ARGS);
        const after = await renderComponent("db", { ...STATIC_ARGS, storageSize: "5Gi" });
        const p = plan(before, after);
        for (let i = 0; i <= 2; i++) {
            assert.strictEqual(p[`db-pvc-${i}`], "update", `claim ${i}`);
            assert.strictEqual(p[`db-pv-${i}`], "update", `volume ${i}`);
        }
        assert.strictEqual(p["db-statefulset"], "same", "only the ignored volumeClaimTemplate differs");
        assert.deepStrictEqual(Object.entries(p).filter(([, s]) => s !== "same" && s !== "update"), []);
        const sts = resource(after, "db-statefulset");
        assert.deepStrictEqual(sts.options.ignoreChanges, [VOLUME_CLAIM_TEMPLATES]);
        assert.strictEqual(find(after, "PersistentVolumeClaim", "data-db-1").spec.resources.requests.storage, "5Gi");
    });

    it("grows dynamically provisioned claims in place: they are the component's own, adopted by the StatefulSet", async () => {
        const before = await renderComponent("db", { storageClassName: "gp3", storageSize: "10Gi" });
        const after = await renderComponent("db", { storageClassName: "gp3", storageSize: "20Gi" });
        const p = plan(before, after);
        for (let i = 0; i <= 2; i++) {
            assert.strictEqual(p[`db-pvc-${i}`], "update", `claim ${i}`);
            const claim = resource(after, `db-pvc-${i}`);
            assert.strictEqual(claim.inputs.metadata.name, `data-db-${i}`, "the name the volumeClaimTemplate gives ordinal i");
            assert.deepStrictEqual(claim.inputs.spec, { accessModes: ["ReadWriteOnce"], storageClassName: "gp3", resources: { requests: { storage: "20Gi" } } });
            assert.strictEqual(claim.options.retainOnDelete, true);
        }
        assert.strictEqual(p["db-statefulset"], "same");
        // The cluster's default class: no class name at all, as an empty one would mean "no class".
        const byDefault = resource(await renderComponent("db", {}), "db-pvc-0");
        assert.ok(!("storageClassName" in byDefault.inputs.spec), JSON.stringify(byDefault.inputs.spec));
    });

    it("claims come before the StatefulSet, and its deletion waits for its pods", async () => {
        for (const args of [STATIC_ARGS, { storageClassName: "gp3" }]) {
            const r = await renderComponent("db", args);
            const sts = resource(r, "db-statefulset");
            // A refused resize stops the update before the pods see anything; the StatefulSet adopts, not creates.
            for (let i = 0; i <= 2; i++) assert.ok(sts.options.dependsOn.includes(`db-pvc-${i}`), `claim ${i}`);
            // Foreground: `pulumi destroy` deletes the ConfigMaps, RBAC and Services the pods use only after them.
            assert.strictEqual(sts.inputs.metadata.annotations[DELETION_POLICY_ANNOTATION], "foreground");
            for (const dep of ["db-config", "db-scripts", "db-rolebinding", "db-headless", "db-networkpolicy"]) {
                assert.ok(sts.options.dependsOn.some((d: string) => d.startsWith(dep)), `${dep} in ${sts.options.dependsOn}`);
            }
        }
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
        assert.strictEqual(dynamic["db-pvc-3"], "delete");
        assert.strictEqual(resource(await renderComponent("db", { replicas: 3 }), "db-pvc-3").options.retainOnDelete, true);
    });

    it("the model itself tells an update from a replacement", () => {
        const r = (type: string, inputs: any) => ({ type, name: "x", inputs, secretPaths: [], read: false, custom: true, options: {} as any });
        const pvc = "kubernetes:core/v1:PersistentVolumeClaim";
        assert.strictEqual(step(r(pvc, { spec: { storageClassName: "a" } }), r(pvc, { spec: { storageClassName: "b" } })), "replace");
        assert.strictEqual(step(r(pvc, { spec: { resources: { requests: { storage: "1Gi" } } } }), r(pvc, { spec: { resources: { requests: { storage: "2Gi" } } } })), "update");
        assert.strictEqual(step(r(pvc, { metadata: { name: "a" } }), r(pvc, { metadata: { name: "b" } })), "replace");
        const sts = "kubernetes:apps/v1:StatefulSet";
        const template = (size: string) => ({ spec: { volumeClaimTemplates: [{ spec: { resources: { requests: { storage: size } } } }] } });
        assert.strictEqual(step(r(sts, template("1Gi")), r(sts, template("2Gi"))), "replace");
        const ignoring = { ...r(sts, template("2Gi")), options: { ignoreChanges: [VOLUME_CLAIM_TEMPLATES] } as any };
        assert.strictEqual(step(r(sts, template("1Gi")), ignoring), "same");
    });
});

/** StorageClass, static PersistentVolumes and their claims; nothing that could delete data. */
import * as assert from "assert";
import { STATIC_ARGS, find, ofKind, resource, renderComponent } from "./helpers";

describe("storage", () => {
    it("creates a Retain, expandable, WaitForFirstConsumer StorageClass when asked", async () => {
        const r = await renderComponent("db", STATIC_ARGS);
        const sc = find(r, "StorageClass");
        assert.strictEqual(sc.metadata.name, "default-db");
        assert.strictEqual(sc.reclaimPolicy, "Retain");
        assert.strictEqual(sc.allowVolumeExpansion, true);
        assert.strictEqual(sc.volumeBindingMode, "WaitForFirstConsumer");
        assert.strictEqual(sc.provisioner, "kubernetes.io/no-provisioner");
    });

    it("creates one hostPath PV and one pre-bound claim per pod, named as the StatefulSet expects", async () => {
        const r = await renderComponent("db", STATIC_ARGS);
        const pvs = ofKind(r, "PersistentVolume");
        const pvcs = ofKind(r, "PersistentVolumeClaim");
        const sts = find(r, "StatefulSet");
        assert.strictEqual(pvs.length, 3);
        assert.strictEqual(pvcs.length, 3);
        const template = sts.spec.volumeClaimTemplates[0];
        for (let i = 0; i < 3; i++) {
            const claimName = `${template.metadata.name}-${sts.metadata.name}-${i}`;
            const pvc = pvcs.find((c) => c.metadata.name === claimName);
            assert.ok(pvc, `no claim ${claimName}`);
            const pv = pvs.find((v) => v.metadata.name === pvc.spec.volumeName)!;
            assert.ok(pv, `claim ${claimName} names a missing volume`);
            assert.deepStrictEqual(pv.spec.claimRef, { namespace: "default", name: claimName });
            assert.strictEqual(pv.spec.persistentVolumeReclaimPolicy, "Retain");
            assert.strictEqual(pv.spec.capacity.storage, "1Gi");
            assert.deepStrictEqual(pv.spec.hostPath, { path: `/srv/db/default-db-${i}`, type: "DirectoryOrCreate" });
            // The claim must match the template, or the StatefulSet would not adopt it.
            assert.strictEqual(pvc.spec.storageClassName, template.spec.storageClassName);
            assert.deepStrictEqual(pvc.spec.accessModes, template.spec.accessModes);
            assert.deepStrictEqual(pvc.spec.resources, template.spec.resources);
            assert.strictEqual(pv.spec.storageClassName, "default-db");
        }
    });

    it("pins local volumes to their nodes", async () => {
        const r = await renderComponent("db", { ...STATIC_ARGS, staticVolumes: { type: "local", basePath: "/mnt/disks", nodeNames: ["n1", "n2"] } });
        const pvs = ofKind(r, "PersistentVolume").sort((a, b) => a.metadata.name.localeCompare(b.metadata.name));
        assert.deepStrictEqual(
            pvs.map((pv) => [pv.spec.local.path, pv.spec.nodeAffinity.required.nodeSelectorTerms[0].matchExpressions[0].values[0]]),
            [["/mnt/disks/default-db-0", "n1"], ["/mnt/disks/default-db-1", "n2"], ["/mnt/disks/default-db-2", "n1"]],
        );
        assert.ok(pvs.every((pv) => pv.spec.hostPath === undefined));
    });

    it("keeps volumes and claims on delete by default, and only drops them when asked", async () => {
        const kept = await renderComponent("db", STATIC_ARGS);
        for (const name of ["db-pv-0", "db-pvc-0", "db-pv-2", "db-pvc-2"]) {
            assert.strictEqual(resource(kept, name).options.retainOnDelete, true, name);
        }
        const dropped = await renderComponent("db", { ...STATIC_ARGS, retainVolumesOnDelete: false });
        assert.strictEqual(resource(dropped, "db-pvc-0").options.retainOnDelete, false);
    });

    it("tells Pulumi not to wait for a WaitForFirstConsumer claim to bind", async () => {
        const r = await renderComponent("db", STATIC_ARGS);
        for (const pvc of ofKind(r, "PersistentVolumeClaim")) {
            assert.strictEqual(pvc.metadata.annotations["pulumi.com/skipAwait"], "true");
        }
    });

    it("with a dynamic provisioner or the default class, makes claims without volumes, shaped as the volumeClaimTemplate", async () => {
        const named = await renderComponent("db", { storageClassName: "fast-ssd", storageSize: "50Gi" });
        assert.strictEqual(ofKind(named, "PersistentVolume").length + ofKind(named, "StorageClass").length, 0);
        const claims = ofKind(named, "PersistentVolumeClaim");
        assert.deepStrictEqual(claims.map((c) => c.metadata.name), ["data-db-0", "data-db-1", "data-db-2"]);
        for (const c of claims) {
            assert.strictEqual(c.spec.storageClassName, "fast-ssd");
            assert.strictEqual(c.spec.volumeName, undefined, "the provisioner makes the volume");
            assert.strictEqual(c.metadata.annotations["pulumi.com/skipAwait"], "true");
        }
        const t = find(named, "StatefulSet").spec.volumeClaimTemplates[0];
        assert.strictEqual(t.spec.storageClassName, "fast-ssd");
        assert.strictEqual(t.spec.resources.requests.storage, "50Gi");
        const byDefault = await renderComponent("db");
        assert.ok(!("storageClassName" in find(byDefault, "StatefulSet").spec.volumeClaimTemplates[0].spec));
    });

    it("never deletes claims when the StatefulSet is deleted or scaled down", async () => {
        const sts = find(await renderComponent("db"), "StatefulSet");
        assert.deepStrictEqual(sts.spec.persistentVolumeClaimRetentionPolicy, { whenDeleted: "Retain", whenScaled: "Retain" });
    });
});

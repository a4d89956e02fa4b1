/** plan(): the pods, their names, hosts and configured roles, computed once; and the render built from it. */
import * as assert from "assert";
import { ResolvedArgs } from "../../components/args";
import { plan } from "../../components/plan";
import { resolveArgs } from "../../components/resolve";
import { renderComponent } from "../../render/render";
import { STATIC_ARGS, find, ofKind } from "./helpers";

const LABELER = { rbacSuffix: "labeler" };

describe("plan", () => {
    it("lists replicas + 1 pods, ordinal 0 first, with the configured primary and the replicas", () => {
        const p = plan(resolveArgs("db", { replicas: 3, primaryOrdinal: 2, namespace: "shop" }), LABELER);
        assert.strictEqual(p.podCount, 4);
        assert.deepStrictEqual(p.pods.map((x) => x.ordinal), [0, 1, 2, 3]);
        assert.deepStrictEqual(p.pods.map((x) => x.name), ["db-0", "db-1", "db-2", "db-3"]);
        assert.strictEqual(p.pods[3].host, "db-3.db-headless.shop.svc.cluster.local");
        assert.deepStrictEqual(p.pods.map((x) => x.role), ["replica", "replica", "primary", "replica"]);
        assert.strictEqual(p.primary.ordinal, 2);
        assert.deepStrictEqual(p.replicas.map((x) => x.ordinal), [0, 1, 3]);
        assert.deepStrictEqual(p.primaryFirst.map((x) => x.ordinal), [2, 0, 1, 3]);
        assert.strictEqual(p.names.role, "db-labeler");
        assert.strictEqual(p.names.statefulSet, "db");
    });

    it("plans a primary alone with no replicas", () => {
        const p = plan(resolveArgs("solo", { replicas: 0 }), LABELER);
        assert.strictEqual(p.podCount, 1);
        assert.deepStrictEqual(p.replicas, []);
        assert.strictEqual(p.primary.name, "solo-0");
        assert.deepStrictEqual(p.primaryFirst, [p.primary]);
    });

    it("refuses a primary outside the pods instead of picking another", () => {
        const args: ResolvedArgs = { ...resolveArgs("db", { replicas: 1 }), primaryOrdinal: 5 };
        assert.throws(() => plan(args, LABELER), /^Error: primaryOrdinal 5 is not one of the 2 pods$/);
    });

    it("is what the StatefulSet, the config, the volumes, the claims and the labeler's RBAC are built from", async () => {
        const expected = plan(resolveArgs("db", { ...STATIC_ARGS, replicas: 4 }), LABELER);
        const r = await renderComponent("db", { ...STATIC_ARGS, replicas: 4 });
        assert.strictEqual(find(r, "StatefulSet").spec.replicas, expected.podCount);
        assert.strictEqual(find(r, "ConfigMap", "db-settings").data["pod-count"], String(expected.podCount));
        assert.deepStrictEqual(ofKind(r, "PersistentVolumeClaim").map((c) => c.metadata.name), expected.pods.map((p) => expected.names.claim(p.ordinal)));
        assert.deepStrictEqual(find(r, "Role").rules[0].resourceNames, expected.pods.map((p) => p.name));
        assert.deepStrictEqual(r.outputs.podHosts, expected.pods.map((p) => p.host));
        const dynamic = await renderComponent("db", { replicas: 4 });
        assert.deepStrictEqual(ofKind(dynamic, "PersistentVolumeClaim").map((c) => c.metadata.name), expected.pods.map((p) => expected.names.claim(p.ordinal)));
    });
});

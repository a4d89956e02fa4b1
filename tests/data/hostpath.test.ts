/**
 * The dev stack's storage: hostPath volumes, which the kubelet creates root-owned and never hands to the
 * fsGroup. The rendered volume-owner init container (root, CHOWN only) must make them usable for uid 999.
 */
import * as assert from "assert";
import * as fs from "fs";
import { Cluster } from "../harness/cluster";

describe("hostPath volumes (the dev stack's shape)", function () {
    this.timeout(120000);
    const c = new Cluster({
        args: { replicas: 1, createStorageClass: true, staticVolumes: { type: "hostPath", basePath: "/srv/replicated-db" } },
    });
    after(() => c.cleanup());

    it("runs the volume-owner init container first, then the servers replicate on the handed-over volumes", async () => {
        await c.render();
        const init = c.objects.statefulSet.spec.template.spec.initContainers;
        assert.deepStrictEqual(init.map((x: any) => x.name), ["volume-owner"]);
        await c.up();
        for (const i of [0, 1]) {
            assert.strictEqual(fs.statSync(c.pod(i).dataDir).uid, 999, `db-${i}'s volume belongs to the server's uid`);
        }
        c.sql(0, "CREATE TABLE t AS SELECT 1 AS x");
        await c.until("the replica to have the table", () => c.sql(1, "SELECT count(*) FROM t") === "1");
    });
});

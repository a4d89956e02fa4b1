/**
 * The change guard: a shrink or a major-version change fails the preview, before anything changes. The
 * serialized provider (what the Pulumi engine runs) is loaded and called as the engine's dynamic provider
 * host would.
 */
import * as assert from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { checkChange } from "../../components/storage/guard";
import { STATIC_ARGS, resource, renderComponent } from "./helpers";

describe("the change guard", () => {
    it("lets a first deployment, a growth and an unchanged size through", () => {
        assert.deepStrictEqual(checkChange({}, { storageSize: "10Gi", major: 17, allowMajorChange: false }), []);
        assert.deepStrictEqual(checkChange({ storageSize: "10Gi", major: 17, allowMajorChange: false }, { storageSize: "20Gi", major: 17, allowMajorChange: false }), []);
        assert.deepStrictEqual(checkChange({ storageSize: "10Gi", major: 17, allowMajorChange: false }, { storageSize: "10240Mi", major: 17, allowMajorChange: false }), []);
    });

    it("refuses a shrink, naming both sizes", () => {
        assert.deepStrictEqual(checkChange({ storageSize: "10Gi", major: 17, allowMajorChange: false }, { storageSize: "5Gi", major: 17, allowMajorChange: false }), [
            { property: "storageSize", reason: 'invalid storageSize: "5Gi" (allowed: at least the deployed "10Gi": volumes grow in place but never shrink)' },
        ]);
    });

    it("refuses a major-version change and explains the way to upgrade", () => {
        const [failure] = checkChange({ storageSize: "10Gi", major: 16, allowMajorChange: false }, { storageSize: "10Gi", major: 17, allowMajorChange: false });
        assert.strictEqual(failure.property, "image");
        assert.match(failure.reason, /^invalid image: major version 17 \(allowed: the deployed major version 16; .*dump the data, then set allowMajorVersionChange and restore it, or deploy a second cluster/);
        assert.deepStrictEqual(checkChange({ storageSize: "10Gi", major: 17, allowMajorChange: false }, { storageSize: "10Gi", major: 17, allowMajorChange: false }), []);
    });

    it("lets a major-version change through when the user opted into the documented upgrade", () => {
        assert.deepStrictEqual(checkChange({ storageSize: "10Gi", major: 16, allowMajorChange: false }, { storageSize: "10Gi", major: 17, allowMajorChange: true }), []);
        // The opt-in never excuses a shrink.
        assert.strictEqual(checkChange({ storageSize: "10Gi", major: 16, allowMajorChange: false }, { storageSize: "5Gi", major: 17, allowMajorChange: true }).length, 1);
    });

    it("stands before the claims and the StatefulSet, with the size and major of the render", async () => {
        const r = await renderComponent("db", { ...STATIC_ARGS, image: "postgres:16.4" });
        const guard = resource(r, "db-guard");
        assert.match(guard.type, /ChangeGuard$/);
        assert.strictEqual(guard.inputs.storageSize, "1Gi");
        assert.strictEqual(guard.inputs.major, 16);
        assert.strictEqual(guard.inputs.allowMajorChange, false);
        assert.ok(resource(r, "db-statefulset").options.dependsOn.includes("db-guard"));
        assert.ok(resource(r, "db-pv-0").options.dependsOn.includes("db-guard"));
        assert.ok(resource(r, "db-pvc-0").options.dependsOn.includes("db-pv-0"), "the claim waits for its volume, hence for the guard");
    });

    it("ships a provider that the engine can load and that refuses a shrink", async () => {
        const r = await renderComponent("db");
        const serialized = resource(r, "db-guard").inputs.__provider;
        assert.strictEqual(typeof serialized, "string");
        // What Pulumi's dynamic provider host does: load the module text and call its handler.
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "rdb-guard-"));
        try {
            const file = path.join(dir, "provider.js");
            fs.writeFileSync(file, serialized);
            // eslint-disable-next-line @typescript-eslint/no-var-requires
            const provider = require(file).handler();
            const refused = await provider.check({ storageSize: "10Gi", major: 17, allowMajorChange: false }, { storageSize: "5Gi", major: 17, allowMajorChange: false });
            assert.strictEqual(refused.failures.length, 1);
            assert.strictEqual(refused.failures[0].property, "storageSize");
            const allowed = await provider.check({ storageSize: "10Gi", major: 17, allowMajorChange: false }, { storageSize: "20Gi", major: 17, allowMajorChange: false });
            assert.deepStrictEqual(allowed.failures, []);
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });
});

/** `npm run build` makes a package that another stack can import and that renders what the source does. */
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { renderComponent, renderComponentWith } from "../../render/render";
import { ROOT, buildOnce } from "./build";
import { scriptPath } from "../scriptFolders";

describe("the compiled package", () => {
    let out: string;
    before(function () {
        this.timeout(120000);
        // The compiled code resolves @pulumi/* from the project's node_modules, as it would from a consumer's.
        out = buildOnce();
    });

    it("has the files that package.json's main, types and exports name, and the pod scripts", () => {
        const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8"));
        for (const file of [pkg.main, pkg.types, pkg.exports["."].default, pkg.exports["."].types]) {
            assert.ok(fs.existsSync(path.join(ROOT, file)), `${file} is missing from the build`);
        }
        for (const [folder, script] of [["manual", "entrypoint.sh"], ["common", "probe.sh"], ["common", "lib.sh"], ["manual", "role-labeler.sh"], ["backup", "backup.sh"], ["pooler", "pooler.sh"]] as const) {
            assert.ok(fs.existsSync(scriptPath(folder, script, out)), `${folder}/${script}`);
        }
        const types = fs.readFileSync(path.join(out, "args.d.ts"), "utf8");
        assert.match(types, /@default 2/, "the JSDoc defaults reach the consumers' editors");
    });

    it("renders the same objects as the source", async () => {
        // eslint-disable-next-line @typescript-eslint/no-var-requires
        const compiled = require(out);
        const args = { replicas: 1, storageSize: "2Gi" };
        const fromPackage = await renderComponentWith(compiled.ReplicatedDatabase, "db", args);
        const fromSource = await renderComponent("db", args);
        assert.deepStrictEqual(fromPackage.manifests, fromSource.manifests);
        assert.deepStrictEqual(fromPackage.outputs, fromSource.outputs);
        assert.throws(() => new compiled.ReplicatedDatabase("db", { replicas: -1 }), /invalid replicas: -1/);
    });
});

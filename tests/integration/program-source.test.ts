/**
 * The program runs the component from its sources: after `npm run build` made lib/, an edit to components/
 * followed by `pulumi up` must deploy that edit, not the last build. Evaluated in a child process without the
 * unit suite's resolution hook (tests/unit/self-package.ts), as Pulumi's Node.js runtime loads index.ts.
 */
import * as assert from "assert";
import { spawnSync } from "child_process";
import * as path from "path";
import { buildOnce, ROOT } from "./build";

describe("the program's component", () => {
    it("is loaded from components/, never from the build in lib/", () => {
        const lib = buildOnce();
        const script = `
            const { renderProgram } = require("./render/render");
            const { readStackConfig } = require("./render/stackConfig");
            renderProgram(readStackConfig("dev")).then((r) => {
                const loaded = Object.keys(require.cache);
                process.stdout.write(JSON.stringify({
                    objects: r.manifests.length,
                    fromLib: loaded.filter((f) => f.startsWith(${JSON.stringify(lib + path.sep)})),
                    fromSources: loaded.filter((f) => f.endsWith(${JSON.stringify(path.join("components", "replicatedDatabase.ts"))})).length,
                }));
            });`;
        const r = spawnSync(process.execPath, ["-r", "ts-node/register/transpile-only", "-e", script], { cwd: ROOT, encoding: "utf8", timeout: 90000 });
        assert.strictEqual(r.status, 0, r.stderr);
        const seen = JSON.parse(r.stdout) as { objects: number; fromLib: string[]; fromSources: number };
        assert.ok(seen.objects > 0, "the dev stack rendered no object");
        assert.deepStrictEqual(seen.fromLib, []);
        assert.strictEqual(seen.fromSources, 1);
    });
});

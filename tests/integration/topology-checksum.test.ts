/**
 * Only the chosen topology's scripts roll its pods: an edit to a patroni/ script changes the pod template's
 * checksum of patroni clusters alone, and the other way round. Runs on a private copy of the package build,
 * whose script files it edits (the engine reads them from disk next to its compiled module).
 */
import * as assert from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { Rendered, renderComponentWith } from "../../render/render";
import { find } from "../unit/helpers";
import { ROOT, buildOnce } from "./build";
import { ScriptFolder, scriptPath } from "../scriptFolders";

const IMAGE = "registry.example.com/postgres-patroni:17.6";
const MANUAL = { failover: "manual" };
const PATRONI = { failover: "patroni", image: IMAGE };

const checksum = (r: Rendered) => find(r, "StatefulSet").spec.template.metadata.annotations["replicated-db.io/config-checksum"];

describe("the pod-rolling checksum covers only the chosen topology's files", function () {
    this.timeout(120000);
    let dir: string;
    let out: string;
    let compiled: any;
    const render = (args: object) => renderComponentWith(compiled.ReplicatedDatabase, "db", args);
    const both = async () => ({ manual: checksum(await render(MANUAL)), patroni: checksum(await render(PATRONI)) });
    const edit = (folder: ScriptFolder, file: string) => fs.appendFileSync(scriptPath(folder, file, out), "# an edit\n");

    before(() => {
        // A private copy of the build, whose script files this test may edit; the sources and lib/ are never touched.
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "rdb-topology-"));
        out = path.join(dir, "lib");
        fs.symlinkSync(path.join(ROOT, "node_modules"), path.join(dir, "node_modules"));
        fs.cpSync(buildOnce(), out, { recursive: true });
        // eslint-disable-next-line @typescript-eslint/no-var-requires
        compiled = require(out);
    });
    after(() => fs.rmSync(dir, { recursive: true, force: true }));

    it("a Patroni script change leaves manual clusters alone, and the other way round; the engine's common scripts roll both", async () => {
        const start = await both();
        assert.notStrictEqual(start.manual, start.patroni);

        edit("patroni", "patroni.sh");
        const afterPatroni = await both();
        assert.strictEqual(afterPatroni.manual, start.manual, "a patroni/ edit rolled manual-mode pods");
        assert.notStrictEqual(afterPatroni.patroni, start.patroni, "a patroni/ edit did not roll patroni-mode pods");

        edit("manual", "server.sh");
        const afterManual = await both();
        assert.notStrictEqual(afterManual.manual, afterPatroni.manual, "a manual/ edit did not roll manual-mode pods");
        assert.strictEqual(afterManual.patroni, afterPatroni.patroni, "a manual/ edit rolled patroni-mode pods");

        edit("common", "lib.sh");
        const afterCommon = await both();
        assert.notStrictEqual(afterCommon.manual, afterManual.manual);
        assert.notStrictEqual(afterCommon.patroni, afterManual.patroni);
    });
});

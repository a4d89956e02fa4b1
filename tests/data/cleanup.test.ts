/** After the whole data suite: no server the harness started may outlive it. */
import * as assert from "assert";
import { spawnSync } from "child_process";

after(() => {
    const r = spawnSync("pgrep", ["-u", "postgres", "-f", "config_file=/etc/replicated-db"], { encoding: "utf8" });
    assert.strictEqual(r.stdout.trim(), "", `servers left running: ${r.stdout}`);
});

describe("the harness", () => {
    it("runs as root, which it needs for mount namespaces and to drop to the postgres user", () => {
        assert.strictEqual(process.getuid?.(), 0);
    });
});

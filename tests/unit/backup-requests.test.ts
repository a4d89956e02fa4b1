/**
 * The primary's rule for the backups the backup Jobs ask for (backup-requests.sh decide_backup_request), as a
 * table over every kind of request row and every state of this pod's runner: one bash for the whole table, with a
 * PATH that finds nothing, so that the rule can read no file and run no command.
 */
import * as assert from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { scriptPath } from "../scriptFolders";

const REQUESTS = scriptPath("backup", "backup-requests.sh");
const BASH = ["/bin/bash", "/usr/bin/bash"].find((b) => fs.existsSync(b))!;

const REQUEST_ROWS = ["none", "requested 7 full", "requested 8 diff", "running 7 db-0", "running 7 db-1"];
const RUNNERS = ["none", "running 7", "done 7 0", "done 7 1", "done 6 3"];

/** What the rule must answer: this pod's finished run first, then its running one, then the oldest request. */
function want(request: string, runner: string): string {
    const r = runner.split(" ");
    if (r[0] === "done") return `finish ${r[1]} ${r[2]}`;
    if (r[0] === "running") return "wait";
    const q = request.split(" ");
    if (q[0] === "requested") return `start ${q[1]} ${q[2]}`;
    // Marked running, but no runner of this pod runs it: another pod started it before it stopped being the
    // primary, or this pod's supervisor restarted under it. Nobody will ever finish it.
    if (q[0] === "running") return `abandon ${q[1]}`;
    return "wait";
}

describe("the backup requests' rule (backup-requests.sh), as a table", () => {
    it(`answers every request row with every runner state (${REQUEST_ROWS.length * RUNNERS.length} cases), with bash alone`, () => {
        const rows = REQUEST_ROWS.flatMap((request) => RUNNERS.map((runner) => ({ request, runner })));
        const empty = fs.mkdtempSync(path.join(os.tmpdir(), "backup-requests-"));
        try {
            const script = [
                "set -uo pipefail",
                `RDB_RUN_DIR=/nonexistent . "${REQUESTS}"`,
                "while IFS=$'\\t' read -r request runner; do",
                '    decide_backup_request "request=$request" "runner=$runner" || echo "(status $?)"',
                "done",
            ].join("\n");
            const input = rows.map((r) => `${r.request}\t${r.runner}`).join("\n") + "\n";
            const r = spawnSync(BASH, ["--norc", "--noprofile", "-c", script], { input, env: { PATH: empty }, encoding: "utf8" });
            assert.strictEqual(r.stderr, "");
            const got = r.stdout.split("\n").slice(0, -1);
            const wrong = rows.flatMap((row, i) => (got[i] === want(row.request, row.runner) ? [] : [`${row.request} / ${row.runner}: want "${want(row.request, row.runner)}", got "${got[i]}"`]));
            assert.deepStrictEqual(wrong, []);
            assert.strictEqual(got.length, rows.length);
        } finally {
            fs.rmSync(empty, { recursive: true, force: true });
        }
    });

    it("runs nothing when sourced", () => {
        const r = spawnSync(BASH, ["--norc", "--noprofile", "-c", `set -euo pipefail; RDB_RUN_DIR=/x; . "${REQUESTS}"; echo sourced`], { env: { PATH: "/nonexistent" }, encoding: "utf8" });
        assert.deepStrictEqual([r.status, r.stdout, r.stderr], [0, "sourced\n", ""]);
    });
});

/**
 * The pod scripts as shell: shellcheck-clean at its default level, strict mode in every script a container
 * or Patroni runs, and no shell option changed by a file that others source.
 */
import * as assert from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

const ROOT = path.join(__dirname, "..", "..");
const SCRIPTS = path.join(ROOT, "components", "engines", "postgres", "scripts");
const all = fs.readdirSync(SCRIPTS).flatMap((folder) => fs.readdirSync(path.join(SCRIPTS, folder)).filter((f) => f.endsWith(".sh")).map((f) => path.join(folder, f)));
/** What a container, a probe or Patroni runs; everything else is sourced by these. */
const ENTRY_POINTS = ["manual/entrypoint.sh", "common/probe.sh", "manual/role-labeler.sh", "manual/role-labeler-alive.sh", "patroni/patroni.sh", "patroni/patroni-callback.sh", "patroni/patroni-fence.sh", "backup/backup-stanza.sh", "backup/backup.sh", "backup/backup-job.sh", "backup/restore.sh", "backup/restore-standby.sh", "backup/archive-get.sh", "pooler/pooler.sh"];
/** The commands of a script, comments and blank lines left out. */
const commands = (file: string) =>
    fs.readFileSync(path.join(SCRIPTS, file), "utf8").split("\n").map((l) => l.replace(/^\s*#.*$/, "").trim()).filter(Boolean);

describe("the pod scripts as shell", () => {
    it("are all shellcheck-clean at its default level", () => {
        const r = spawnSync("shellcheck", ["-x", "-P", "SCRIPTDIR", ...all], { cwd: SCRIPTS, encoding: "utf8" });
        assert.ok(!r.error, `shellcheck could not run (Debian's shellcheck package): ${r.error}`);
        assert.strictEqual(r.status, 0, r.stdout);
    });

    it("run in strict mode wherever a container, probe or Patroni starts them", () => {
        for (const file of ENTRY_POINTS) {
            const strict = fs.readFileSync(path.join(SCRIPTS, file), "utf8").startsWith("#!/bin/sh") ? "set -eu" : "set -euo pipefail";
            assert.ok(commands(file).includes(strict), `${file} does not run "${strict}"`);
        }
    });

    it("that others source change no shell option of theirs", () => {
        const run = fs.mkdtempSync(path.join(os.tmpdir(), "rdb-shell-"));
        try {
            for (const file of all.filter((f) => !ENTRY_POINTS.includes(f))) {
                // Options before and after sourcing, in a shell that runs with none of the strict ones on.
                const probe = 'before=$(set +o; shopt -p); . "$1"; after=$(set +o; shopt -p); [ "$before" = "$after" ] || { diff <(echo "$before") <(echo "$after"); exit 1; }';
                const r = spawnSync("bash", ["-c", probe, "probe", path.join(SCRIPTS, file)], {
                    env: { PATH: process.env.PATH, RDB_RUN_DIR: run, RDB_CONFIG_DIR: run, RDB_SECRET_DIR: run },
                    encoding: "utf8",
                });
                assert.strictEqual(r.status, 0, `${file} changes the caller's options:\n${r.stdout}${r.stderr}`);
            }
        } finally {
            fs.rmSync(run, { recursive: true, force: true });
        }
    });
});

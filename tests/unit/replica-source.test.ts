/**
 * Where a new replica's first data directory comes from (replica-source.sh decide_replica_source), as a table over
 * every input, run in one bash with a PATH that finds nothing, so that the rule can read no file and run no command;
 * and the script that restores it (restore-standby.sh) refusing what it must, before it touches anything.
 */
import * as assert from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { parse } from "yaml";
import { resolveArgs } from "../../components/resolve";
import { scriptDir, scriptPath } from "../scriptFolders";
import { find, renderComponent } from "./helpers";

const SOURCE = scriptPath("backup", "replica-source.sh");
const RESTORE = scriptPath("backup", "restore-standby.sh");
const BASH = ["/bin/bash", "/usr/bin/bash"].find((b) => fs.existsSync(b))!;

describe("a new replica's source (replica-source.sh), as a table", () => {
    const table: [string, string, string][] = [
        // from_repository, repository, answer
        ["on", "untried", "repository"],
        ["on", "failed", "primary"],
        ["off", "untried", "primary"],
        ["off", "failed", "primary"],
        // Unset inputs: the safe answer, the primary (as without backups).
        ["", "", "primary"],
    ];

    it("asks the repository first when replicasFromRepository is on, and the primary once the repository failed this pod", () => {
        const calls = table.map(([from, repo]) => `decide_replica_source ${from ? `from_repository=${from}` : ""} ${repo ? `repository=${repo}` : ""}`).join("\n");
        const r = spawnSync(BASH, ["--norc", "--noprofile", "-c", `set -euo pipefail; RDB_RUN_DIR=/x; . "${SOURCE}"\n${calls}`], { env: { PATH: "/nonexistent" }, encoding: "utf8" });
        assert.strictEqual(r.status, 0, r.stderr);
        assert.deepStrictEqual(r.stdout.trim().split("\n"), table.map((row) => row[2]));
    });

    it("runs nothing when sourced", () => {
        const r = spawnSync(BASH, ["--norc", "--noprofile", "-c", `set -euo pipefail; RDB_RUN_DIR=/x; . "${SOURCE}"; echo sourced`], { env: { PATH: "/nonexistent" }, encoding: "utf8" });
        assert.deepStrictEqual([r.status, r.stdout, r.stderr], [0, "sourced\n", ""]);
    });
});

describe("restore-standby.sh refuses before it touches anything", () => {
    let dir: string;
    beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), "restore-standby-"))));
    afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

    // lib.sh from the engine's scripts, as in the pod; no pgbackrest on the PATH, so that nothing could be restored.
    const run = (args: string[], env: Record<string, string>) =>
        spawnSync(BASH, [RESTORE, ...args], {
            env: { PATH: "/usr/bin:/bin", RDB_SCRIPTS_DIR: scriptDir("common"), PGDATA: path.join(dir, "pgdata"), RDB_RUN_DIR: dir, POD_NAME: "db-1", ...env },
            encoding: "utf8",
        });

    it("without a stanza, naming both ways to give one", () => {
        const r = run([], {});
        assert.strictEqual(r.status, 1);
        assert.match(r.stderr, /ERROR: no stanza: RDB_STANDBY_ARCHIVE_FROM is empty and no --stanza=NAME was given/);
    });

    it("over a data directory, and over files that are not one, leaving both as they were", () => {
        fs.mkdirSync(path.join(dir, "pgdata"));
        fs.writeFileSync(path.join(dir, "pgdata", "PG_VERSION"), "15\n");
        let r = run(["--stanza=default-db"], {});
        assert.strictEqual(r.status, 1);
        assert.match(r.stderr, /already holds a data directory; only an empty volume is made from a backup/);
        fs.rmSync(path.join(dir, "pgdata", "PG_VERSION"));
        fs.writeFileSync(path.join(dir, "pgdata", "keep"), "x");
        r = run(["--stanza=default-db"], { RDB_STANDBY_ARCHIVE_FROM: "src-db" });
        assert.strictEqual(r.status, 1);
        assert.match(r.stderr, /holds files but no PG_VERSION; refusing to restore over them/);
        assert.strictEqual(fs.readFileSync(path.join(dir, "pgdata", "keep"), "utf8"), "x");
        assert.ok(!fs.existsSync(path.join(dir, "pgdata.restore")));
    });

    it("an argument it does not know, naming the allowed ones", () => {
        const r = run(["--stanzas=x"], {});
        assert.notStrictEqual(r.status, 0);
        assert.match(r.stderr, /unknown argument "--stanzas=x"; allowed: --stanza=NAME, --datadir=DIR/);
    });
});

describe("backup.replicasFromRepository, rendered", () => {
    const IMAGE = "registry.example.com/postgres-patroni:17.6";
    const backup = { enabled: true, repositoryType: "volume" };

    it("is on by default with backups: the manual pods' env, and Patroni's repository method before basebackup", async () => {
        const env = async (args: object) => find(await renderComponent("db", { image: IMAGE, ...args }), "StatefulSet").spec.template.spec.containers[0].env;
        assert.ok((await env({ backup })).some((e: any) => e.name === "RDB_REPLICAS_FROM_REPOSITORY" && e.value === "on"));
        assert.ok((await env({ backup: { ...backup, replicasFromRepository: false } })).some((e: any) => e.name === "RDB_REPLICAS_FROM_REPOSITORY" && e.value === "off"));
        assert.ok(!(await env({})).some((e: any) => e.name === "RDB_REPLICAS_FROM_REPOSITORY"), "without backups there is no repository to ask");

        const patroni = async (args: object) => parse(find(await renderComponent("db", { failover: "patroni", image: IMAGE, ...args }), "ConfigMap", "db-settings").data["patroni.yml"]).postgresql;
        const on = await patroni({ backup });
        assert.deepStrictEqual(on.create_replica_methods, ["repository", "basebackup"]);
        assert.deepStrictEqual(on.repository, { command: "/bin/bash /etc/replicated-db/scripts/restore-standby.sh --stanza=default-db", keep_data: false, no_leader: false });
        for (const args of [{}, { backup: { ...backup, replicasFromRepository: false } }]) {
            const off = await patroni(args);
            assert.strictEqual(off.create_replica_methods, undefined, JSON.stringify(args));
            assert.strictEqual(off.repository, undefined, JSON.stringify(args));
        }
    });

    it("refuses a value that is not a boolean, naming the setting", () => {
        assert.throws(() => resolveArgs("db", { image: IMAGE, backup: { ...backup, replicasFromRepository: "yes" as unknown as boolean } }), /^ArgError: invalid backup\.replicasFromRepository: "yes" \(allowed: true or false\)$/);
    });
});

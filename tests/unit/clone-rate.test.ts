/**
 * `cloneMaxRate`: refused when pg_basebackup would refuse it, rendered for both modes only when set, and passed to
 * pg_basebackup by the manual mode's clone (server.sh clone_from, run with bash beside a pg_basebackup that records
 * its arguments).
 */
import * as assert from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { parse } from "yaml";
import { resolveArgs } from "../../components/resolve";
import { scriptPath } from "../scriptFolders";
import { find, renderComponent } from "./helpers";

const IMAGE = "registry.example.com/postgres-patroni:17.6";

/** The arguments clone_from gave pg_basebackup, with RDB_CLONE_MAX_RATE set to `rate` (unset when undefined). */
function cloneArgs(rate: string | undefined): string[] {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "clone-rate-"));
    try {
        const bin = path.join(dir, "bin");
        fs.mkdirSync(bin);
        // Records its arguments and leaves a data directory where -D says, as a finished clone does.
        fs.writeFileSync(
            path.join(bin, "pg_basebackup"),
            '#!/bin/bash\nprintf "%s\\n" "$@" > "$ARGS_FILE"\nwhile [ $# -gt 0 ]; do [ "$1" = -D ] && mkdir -p "$2" && echo 17 > "$2/PG_VERSION"; shift; done\n',
            { mode: 0o755 },
        );
        const env: NodeJS.ProcessEnv = {
            PATH: `${bin}:${process.env.PATH}`,
            POD_NAME: "db-1",
            PGDATA: path.join(dir, "pgdata"),
            PGPORT: "5432",
            RDB_RUN_DIR: dir,
            RDB_REPLICATION_USER: "replicator",
            ARGS_FILE: path.join(dir, "args"),
        };
        if (rate !== undefined) env.RDB_CLONE_MAX_RATE = rate;
        // server_major asks the postgres binary, which is not here; supervised (which polls its child once a second
        // for the supervisor's heartbeat) runs the command in the foreground, so the test takes no second per clone.
        const script = `set -euo pipefail; . "${scriptPath("common", "lib.sh")}"; . "${scriptPath("manual", "server.sh")}"; supervised() { "$@"; }; server_major() { echo 17; }; clone_from db-0.db-headless`;
        const r = spawnSync("bash", ["--norc", "--noprofile", "-c", script], { env, encoding: "utf8" });
        assert.strictEqual(r.status, 0, r.stderr);
        // The temporary directory's name, which differs between calls, as a fixed word.
        return fs.readFileSync(env.ARGS_FILE!, "utf8").trim().split("\n").map((a) => a.split(dir).join("$DIR"));
    } finally {
        fs.rmSync(dir, { recursive: true, force: true });
    }
}

describe("cloneMaxRate", () => {
    it("takes pg_basebackup's rates and refuses the others, naming the setting", () => {
        for (const ok of ["", "32k", "50M", "1024M", "100000", "32"]) assert.strictEqual(resolveArgs("db", { cloneMaxRate: ok }).cloneMaxRate, ok);
        for (const bad of ["1G", "31", "31k", "1025M", "0", "50 M", "50m", "fast", "-5M"]) {
            assert.throws(
                () => resolveArgs("db", { cloneMaxRate: bad }),
                (e: Error) => e.message === `invalid cloneMaxRate: ${JSON.stringify(bad)} (allowed: a rate from 32k to 1024M, such as "50M" (a bare number is kB/s), or "" for no limit)`,
                bad,
            );
        }
    });

    it("renders nothing without it, and the env (manual) or Patroni's basebackup option with it", async () => {
        const env = async (args: object) => find(await renderComponent("db", args), "StatefulSet").spec.template.spec.containers[0].env;
        assert.ok(!(await env({})).some((e: any) => e.name === "RDB_CLONE_MAX_RATE"));
        assert.ok((await env({ cloneMaxRate: "50M" })).some((e: any) => e.name === "RDB_CLONE_MAX_RATE" && e.value === "50M"));
        const patroni = async (args: object) => {
            const r = await renderComponent("db", { failover: "patroni", image: IMAGE, ...args });
            const yml = find(r, "ConfigMap", "db-settings").data["patroni.yml"];
            return parse(yml).postgresql.basebackup;
        };
        assert.deepStrictEqual(await patroni({}), [{ checkpoint: "fast" }]);
        assert.deepStrictEqual(await patroni({ cloneMaxRate: "50M" }), [{ checkpoint: "fast" }, { "max-rate": "50M" }]);
    });

    it("reaches pg_basebackup in the manual mode's clone, and only when set", () => {
        const limited = cloneArgs("50M");
        assert.ok(limited.includes("--max-rate=50M"), limited.join(" "));
        assert.ok(limited.includes("fast") && limited.includes("-c"), "the checkpoint stays fast");
        const free = cloneArgs(undefined);
        assert.ok(!free.some((a) => a.startsWith("--max-rate")), free.join(" "));
        assert.deepStrictEqual(cloneArgs(""), free);
    });
});

/**
 * pgBackRest 2.45 (Debian's) with an S3 repository on the test S3 server (tests/harness/s3.ts): one
 * PostgreSQL 15 server run by hand as the postgres user, archiving with the contract's archive_command,
 * backed up, restored into a new directory, and left without its repository for a while. This proves the
 * harness's object store and the repository options the rendered pgbackrest.conf will carry; the
 * component's own pod scripts are tested on the harness cluster, not here.
 */
import * as assert from "assert";
import { spawnSync, SpawnSyncReturns } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { PG_BIN } from "../harness/pod";
import { makeCa, S3Server } from "../harness/s3";

const STANZA = "default-db";
const AS_POSTGRES = ["setpriv", "--reuid=postgres", "--regid=postgres", "--init-groups", "--"];

describe("S3 repository (pgBackRest against the test S3 server)", function () {
    this.timeout(600000);
    // Not under /tmp, like the harness cluster's: a pod there would not see it.
    let base = "";
    let pgData = "";
    let restored = "";
    let sock = "";
    let conf = "";
    let logs = "";
    let s3: S3Server;
    let env: NodeJS.ProcessEnv;

    /** Runs a command as the postgres user with the database container's env; output is captured. */
    function asPostgres(cmd: string, args: string[], extraEnv: NodeJS.ProcessEnv = {}): SpawnSyncReturns<string> {
        const [bin, ...rest] = [...AS_POSTGRES, cmd, ...args];
        return spawnSync(bin, rest, { env: { ...env, ...extraEnv }, encoding: "utf8", cwd: base });
    }

    function pgbackrest(args: string[], extraEnv: NodeJS.ProcessEnv = {}): SpawnSyncReturns<string> {
        return asPostgres("pgbackrest", args, extraEnv);
    }

    function ok(r: SpawnSyncReturns<string>, what: string): string {
        assert.strictEqual(r.status, 0, `${what} exited ${r.status}:\n${r.stdout}\n${r.stderr}`);
        return r.stdout;
    }

    function sql(port: number, query: string): string {
        const r = spawnSync(path.join(PG_BIN, "psql"), ["-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-h", sock, "-p", String(port), "-U", "postgres", "-d", "postgres", "-c", query], {
            encoding: "utf8",
        });
        if (r.status !== 0) throw new Error(`psql on port ${port}: ${r.stderr.trim()}`);
        return r.stdout.trim();
    }

    async function until(what: string, seconds: number, cond: () => boolean): Promise<void> {
        const deadline = Date.now() + seconds * 1000;
        for (;;) {
            try {
                if (cond()) return;
            } catch {
                /* not yet */
            }
            if (Date.now() > deadline) throw new Error(`timed out after ${seconds} s waiting for ${what}`);
            await new Promise((resolve) => setTimeout(resolve, 500));
        }
    }

    /** The configuration the rendered ConfigMap will carry (the backup contract), with this run's paths. */
    function writeConfig(): void {
        const global: Record<string, string> = {
            ...s3.pgbackrestOptions(),
            "repo1-path": "/pgbackrest",
            "repo1-retention-full": "1",
            "repo1-retention-full-type": "count",
            "compress-type": "zst",
            "start-fast": "y",
            "process-max": "2",
            "log-level-console": "info",
            "log-level-stderr": "off",
            "log-level-file": "off",
            "lock-path": path.join(base, "lock"),
            // pgBackRest retries a refused or failed connection until 4 × io-timeout has passed: 4 minutes
            // with the default 60 s, for each archive_command and each check. 10 s keeps this test short.
            "io-timeout": "10",
        };
        const stanza = { "pg1-path": pgData, "pg1-socket-path": sock, "pg1-port": "5432", "pg1-user": "postgres" };
        const section = (o: Record<string, string>) => Object.entries(o).map(([k, v]) => `${k}=${v}`).join("\n");
        fs.writeFileSync(conf, `[global]\n${section(global)}\n\n[${STANZA}]\n${section(stanza)}\n`, { mode: 0o644 });
    }

    function pgCtl(dataDir: string, args: string[]): void {
        ok(asPostgres(path.join(PG_BIN, "pg_ctl"), ["-D", dataDir, "-l", path.join(logs, `${path.basename(dataDir)}.log`), "-w", "-t", "120", ...args]), `pg_ctl ${args.join(" ")} (${dataDir})`);
    }

    before(async () => {
        base = fs.mkdtempSync(path.join("/var/tmp", "rdb-s3-repo-"));
        fs.chmodSync(base, 0o755);
        pgData = path.join(base, "pg");
        restored = path.join(base, "restored");
        sock = path.join(base, "sock");
        conf = path.join(base, "pgbackrest.conf");
        logs = path.join(base, "logs");
        s3 = new S3Server(path.join(base, "s3"));
        await s3.start();
        env = { ...process.env, ...s3.credentialsEnv(), PGBACKREST_CONFIG: conf, PGBACKREST_STANZA: STANZA };
        writeConfig();
        for (const d of [sock, logs, path.join(base, "lock")]) {
            fs.mkdirSync(d, { mode: 0o755 });
            fs.chownSync(d, uid("postgres"), gid("postgres"));
        }
        fs.mkdirSync(pgData, { mode: 0o700 });
        fs.chownSync(pgData, uid("postgres"), gid("postgres"));
        ok(asPostgres(path.join(PG_BIN, "initdb"), ["-D", pgData, "-U", "postgres", "--auth=trust", "-E", "UTF8"]), "initdb");
        fs.appendFileSync(
            path.join(pgData, "postgresql.conf"),
            [
                "listen_addresses = ''",
                `unix_socket_directories = '${sock}'`,
                "port = 5432",
                "archive_mode = on",
                // The contract's command: stanza and configuration come from the server's env.
                "archive_command = 'pgbackrest archive-push %p'",
                "archive_timeout = '60s'",
                "",
            ].join("\n"),
        );
        pgCtl(pgData, ["start"]);
        sql(5432, "CREATE TABLE marker (note text NOT NULL)");
        sql(5432, "INSERT INTO marker VALUES ('before-backup')");
    });

    after(async function () {
        if (!base) return;
        for (const d of [restored, pgData]) {
            if (fs.existsSync(path.join(d, "postmaster.pid"))) asPostgres(path.join(PG_BIN, "pg_ctl"), ["-D", d, "-m", "immediate", "-w", "stop"]);
        }
        await s3?.stop();
        // A failed run keeps its logs (server, requests, PostgreSQL) for a look.
        const failed = this.test?.parent?.tests.some((t) => t.state === "failed");
        if (failed) console.log(`kept ${base} (logs/, s3/server.log, s3/requests.log)`);
        else fs.rmSync(base, { recursive: true, force: true });
    });

    it("creates the stanza and passes check over HTTPS, verifying the server with the CA file", () => {
        ok(pgbackrest(["stanza-create"]), "stanza-create");
        ok(pgbackrest(["check"]), "check");
        const archived = s3.objectKeys(`pgbackrest/archive/${STANZA}/15-1/`).filter((k) => /\/[0-9A-F]{24}-[0-9a-f]{40}\.zst$/.test(k));
        assert.ok(archived.length >= 1, `check archived a WAL segment through archive_command: ${archived.join(", ")}`);
    });

    it("refuses a certificate the CA file does not vouch for, a wrong secret key and a wrong region", () => {
        const other = makeCa(path.join(base, "other-ca"), "some other CA");
        // repo-ls, not info: info exits 0 with the repository unreadable and says so in its status.
        const badCa = pgbackrest(["repo-ls"], { PGBACKREST_REPO1_STORAGE_CA_FILE: other.certFile });
        assert.notStrictEqual(badCa.status, 0, "repo-ls with another CA's file must fail");
        assert.match(badCa.stdout, /unable to verify certificate presented by '127\.0\.0\.8:9443'/);
        // The same request succeeds without verification: what failed above was the certificate check.
        ok(pgbackrest(["repo-ls"], { PGBACKREST_REPO1_STORAGE_CA_FILE: other.certFile, PGBACKREST_REPO1_STORAGE_VERIFY_TLS: "n" }), "repo-ls with verify-tls=n");

        const before = s3.requests().length;
        const badKey = pgbackrest(["repo-ls"], { PGBACKREST_REPO1_S3_KEY_SECRET: "not-the-secret" });
        assert.notStrictEqual(badKey.status, 0, "repo-ls with a wrong secret key must fail");
        assert.match(badKey.stdout, /403 \(Forbidden\)/);
        const badRegion = pgbackrest(["repo-ls"], { PGBACKREST_REPO1_S3_REGION: "eu-west-1" });
        assert.notStrictEqual(badRegion.status, 0, "repo-ls signed for another region must fail");
        assert.match(badRegion.stdout, /400 \(Bad Request\)/);
        const refused = s3.requests().slice(before).map((r) => r.code).filter((c) => c !== undefined);
        assert.deepStrictEqual([...new Set(refused)], ["SignatureDoesNotMatch", "AuthorizationHeaderMalformed"]);
    });

    it("takes full backups with multipart uploads, lists them in info and expires the older one with DeleteObjects", () => {
        const mark = s3.requests().length;
        // A chunk size below the default 5 MiB, so that the catalog's larger files go up in parts.
        ok(pgbackrest(["backup", "--type=full", "--repo1-storage-upload-chunk-size=64KiB"]), "first full backup");
        const first = JSON.parse(ok(pgbackrest(["info", "--output=json"]), "info"));
        assert.strictEqual(first.length, 1);
        assert.strictEqual(first[0].name, STANZA);
        assert.strictEqual(first[0].status.code, 0, `stanza status: ${JSON.stringify(first[0].status)}`);
        assert.deepStrictEqual(first[0].backup.map((b: any) => b.type), ["full"]);
        const firstLabel: string = first[0].backup[0].label;
        const uploads = s3.requests().slice(mark);
        const initiated = uploads.filter((r) => r.method === "POST" && r.query.includes("uploads")).length;
        const completed = uploads.filter((r) => r.method === "POST" && r.query.includes("uploadId") && r.status === 200).length;
        assert.ok(initiated > 0 && completed === initiated, `multipart uploads: ${initiated} initiated, ${completed} completed`);
        assert.ok(s3.objectKeys(`pgbackrest/backup/${STANZA}/${firstLabel}/`).length > 0);

        // repo1-retention-full=1: the second full expires the first, whose files pgBackRest deletes in batches.
        ok(pgbackrest(["backup", "--type=full"]), "second full backup");
        const second = JSON.parse(ok(pgbackrest(["info", "--output=json"]), "info"));
        assert.strictEqual(second[0].backup.length, 1);
        assert.notStrictEqual(second[0].backup[0].label, firstLabel);
        assert.deepStrictEqual(s3.objectKeys(`pgbackrest/backup/${STANZA}/${firstLabel}/`), [], "the expired backup's objects are gone");
        assert.ok(s3.requests().some((r) => r.method === "POST" && r.query.includes("delete") && r.status === 200), "DeleteObjects was used");
    });

    it("restores into a new directory; the restored server has the rows written before and after the backup", async () => {
        sql(5432, "INSERT INTO marker VALUES ('after-backup')");
        const segment = sql(5432, "SELECT pg_walfile_name(pg_switch_wal())");
        await until(`segment ${segment} archived`, 120, () => sql(5432, "SELECT last_archived_wal FROM pg_stat_archiver") >= segment);
        fs.mkdirSync(restored, { mode: 0o700 });
        fs.chownSync(restored, uid("postgres"), gid("postgres"));
        ok(pgbackrest(["restore", `--pg1-path=${restored}`]), "restore");
        // Its own port; archive_mode off: a restored copy must not archive into the source's stanza.
        pgCtl(restored, ["start", "-o", "-c port=5433 -c archive_mode=off"]);
        await until("the restored server to finish recovery", 120, () => sql(5433, "SELECT pg_is_in_recovery()") === "f");
        assert.strictEqual(sql(5433, "SELECT string_agg(note, ',' ORDER BY note) FROM marker"), "after-backup,before-backup");
        pgCtl(restored, ["stop", "-m", "fast"]);
    });

    it("fails archive-push clearly while the repository is down, keeps serving, and catches up when it is back", async () => {
        const failedBefore = Number(sql(5432, "SELECT failed_count FROM pg_stat_archiver"));
        await s3.stop();
        assert.strictEqual(await s3.answers(), false, "the stopped server no longer answers");
        sql(5432, "INSERT INTO marker VALUES ('while-down')");
        const segment = sql(5432, "SELECT pg_walfile_name(pg_switch_wal())");
        await until("the archiver to report a failure", 120, () => Number(sql(5432, "SELECT failed_count FROM pg_stat_archiver")) > failedBefore);
        assert.strictEqual(sql(5432, "SELECT last_failed_wal FROM pg_stat_archiver"), segment);
        assert.ok(fs.existsSync(path.join(pgData, "pg_wal", segment)), "the segment stays on the primary");
        const started = Date.now();
        const push = pgbackrest(["archive-push", path.join(pgData, "pg_wal", segment)]);
        assert.notStrictEqual(push.status, 0, "archive-push with the repository down must fail");
        console.log(`      archive-push with the repository down failed after ${((Date.now() - started) / 1000).toFixed(1)} s (io-timeout=10)`);
        assert.match(push.stdout, new RegExp(`unable to connect to '${s3.address.replace(/\./g, "\\.")}:${s3.port}'.*Connection refused`));
        assert.strictEqual(sql(5432, "SELECT count(*) FROM marker WHERE note = 'while-down'"), "1", "the primary keeps serving");

        await s3.start();
        // A new segment wakes the archiver, which otherwise retries only once a minute.
        sql(5432, "INSERT INTO marker VALUES ('back')");
        sql(5432, "SELECT pg_switch_wal()");
        await until(`segment ${segment} archived after the repository returned`, 120, () => sql(5432, "SELECT last_archived_wal FROM pg_stat_archiver") > segment);
        assert.ok(
            s3.objectKeys(`pgbackrest/archive/${STANZA}/15-1/${segment.slice(0, 16)}/`).some((k) => path.basename(k).startsWith(`${segment}-`)),
            `segment ${segment} is in the repository`,
        );
        ok(pgbackrest(["check"]), "check after the repository returned");
    });
});

function uid(user: string): number {
    return Number(spawnSync("id", ["-u", user], { encoding: "utf8" }).stdout.trim());
}

function gid(user: string): number {
    return Number(spawnSync("id", ["-g", user], { encoding: "utf8" }).stdout.trim());
}

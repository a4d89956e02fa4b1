/**
 * The backup pod scripts (components/engines/postgres/backup/scripts/) run for real against Debian's
 * PostgreSQL 15 and pgBackRest, with a directory as the repository (repo1-type=posix), without the rendered
 * component: each "cluster" here is one server with the env, configuration files and pgbackrest.conf that
 * docs/pod-contract.md ("Backups") gives a pod, started with the supervisor's flags
 * on a socket only. The servers and scripts run as this machine's postgres user. Covered: the stanza,
 * a full backup under a write load, point-in-time recovery into a new cluster, the refusals that touch
 * nothing, a backup refused on a standby, and the CronJob's script asking the primary for a backup (its
 * requests taken by the supervisor's backup-requests.sh).
 */
import * as assert from "assert";
import { ChildProcess, spawn, spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { assertIsolated } from "../harness/namespace";
import { PG_BIN } from "../harness/pod";
import { folderScripts } from "../scriptFolders";

const AS_POSTGRES = ["setpriv", "--reuid=postgres", "--regid=postgres", "--init-groups", "--"];

interface Run {
    code: number | null;
    out: string;
    err: string;
}

/** One cluster's primary (or standby) as the pod contract lays it out, under base/NAME. */
class Node {
    readonly dir: string;
    readonly pgdata: string;
    readonly run: string;
    readonly socket: string;
    readonly config: string;

    constructor(
        readonly base: string,
        readonly name: string,
        readonly stanza: string,
        /** Other stanzas pgbackrest.conf names with this node's pg1-* (a restore's source). */
        readonly alsoStanzas: string[] = [],
        readonly extraEnv: Record<string, string> = {},
    ) {
        this.dir = path.join(base, name);
        this.pgdata = path.join(this.dir, "data", "pgdata");
        this.run = path.join(this.dir, "run");
        this.socket = path.join(this.dir, "socket");
        this.config = path.join(this.dir, "config");
        for (const d of [path.dirname(this.pgdata), this.run, this.socket, this.config, path.join(this.dir, "lock")]) {
            fs.mkdirSync(d, { recursive: true });
        }
        const pg = [`pg1-path=${this.pgdata}`, `pg1-socket-path=${this.socket}`, "pg1-port=5432", "pg1-user=postgres"];
        fs.writeFileSync(
            path.join(this.config, "pgbackrest.conf"),
            [
                "[global]",
                "repo1-type=posix",
                `repo1-path=${path.join(base, "repo")}`,
                "repo1-retention-full=2",
                "repo1-retention-full-type=count",
                "compress-type=zst",
                "archive-push-queue-max=64MB",
                "start-fast=y",
                "process-max=2",
                "log-level-console=info",
                "log-level-stderr=off",
                "log-level-file=off",
                `lock-path=${path.join(this.dir, "lock")}`,
                ...[stanza, ...alsoStanzas].flatMap((s) => [`[${s}]`, ...pg]),
                "",
            ].join("\n"),
        );
        // The rendered server settings with backups on, and the supervisor's file that includes them.
        fs.writeFileSync(
            path.join(this.config, "postgresql.conf"),
            [
                "wal_level = replica",
                "max_wal_senders = 5",
                "max_connections = 40",
                "shared_buffers = 16MB",
                "archive_mode = 'on'",
                "archive_command = 'pgbackrest archive-push %p'",
                "archive_timeout = '60s'",
                `restore_command = 'pgbackrest archive-get %f "%p"'`,
                "",
            ].join("\n"),
        );
        fs.writeFileSync(path.join(this.config, "pg_hba.conf"), "local all all peer\nlocal replication all peer\n");
        fs.writeFileSync(path.join(this.run, "postgresql.conf"), `include '${this.config}/postgresql.conf'\ninclude_if_exists '${this.run}/follow.conf'\n`);
        spawnSync("chown", ["-R", "postgres:postgres", this.dir]);
    }

    get env(): Record<string, string> {
        return {
            PATH: `${PG_BIN}:/usr/bin:/bin`,
            HOME: this.dir,
            LANG: "C.UTF-8",
            POD_NAME: `${this.name}-0`,
            PGDATA: this.pgdata,
            PGPORT: "5432",
            RDB_SCRIPTS_DIR: path.join(this.base, "scripts"),
            RDB_CONFIG_DIR: this.config,
            RDB_RUN_DIR: this.run,
            RDB_SOCKET_DIR: this.socket,
            RDB_SUPERUSER: "postgres",
            PGBACKREST_CONFIG: path.join(this.config, "pgbackrest.conf"),
            PGBACKREST_STANZA: this.stanza,
            RDB_BACKUP: "on",
            ...this.extraEnv,
        };
    }

    /** A script of the flat scripts folder, as the pod's user with the pod's env. */
    script(file: string, args: string[] = [], env: Record<string, string> = {}): Run {
        const r = spawnSync(AS_POSTGRES[0], [...AS_POSTGRES.slice(1), "/bin/bash", path.join(this.base, "scripts", file), ...args], {
            env: { ...this.env, ...env },
            encoding: "utf8",
            timeout: 300000,
        });
        return { code: r.status, out: r.stdout, err: r.stderr };
    }

    /** A command as the pod's user with the pod's env; throws when it fails. */
    sh(command: string): string {
        const r = spawnSync(AS_POSTGRES[0], [...AS_POSTGRES.slice(1), "/bin/bash", "-c", command], { env: this.env, encoding: "utf8" });
        if (r.status !== 0) throw new Error(`${this.name}: ${command} failed (${r.status}): ${r.stderr}`);
        return r.stdout.trim();
    }

    sql(query: string): string {
        const r = spawnSync(AS_POSTGRES[0], [...AS_POSTGRES.slice(1), "psql", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-h", this.socket, "-U", "postgres", "-d", "postgres", "-c", query], {
            env: this.env,
            encoding: "utf8",
        });
        if (r.status !== 0) throw new Error(`${this.name}: ${query}: ${r.stderr}`);
        return r.stdout.trim();
    }

    /** The server with the supervisor's flags (manual mode), on its socket only. */
    start(): void {
        const flags = `-c config_file=${this.run}/postgresql.conf -c hba_file=${this.config}/pg_hba.conf -c unix_socket_directories=${this.socket} -c port=5432 -c listen_addresses=''`;
        this.sh(`pg_ctl -D "$PGDATA" -l ${this.dir}/server.log -w -t 120 -o "${flags}" start >/dev/null`);
    }

    stop(): void {
        if (fs.existsSync(path.join(this.pgdata, "postmaster.pid"))) this.sh('pg_ctl -D "$PGDATA" -m fast -w stop >/dev/null');
    }

    initdb(): void {
        this.sh('initdb -D "$PGDATA" -U postgres --auth-local=peer --data-checksums -E UTF8 --no-locale >/dev/null');
    }

    /** The repository's backups of a stanza, as pgBackRest reports them. */
    backups(stanza = this.stanza): { label: string; type: string }[] {
        const info = JSON.parse(this.sh(`pgbackrest --stanza=${stanza} info --output=json`));
        return info[0].backup.map((b: any) => ({ label: b.label, type: b.type }));
    }

    status(): Record<string, string> {
        const text = fs.readFileSync(path.join(this.run, "backup-status"), "utf8");
        return Object.fromEntries(text.trim().split("\n").map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)]));
    }
}

/** The lines of a script's log that report an error. */
const errors = (r: Run) => r.err.split("\n").filter((l) => /^\S+ \S+ ERROR: /.test(l));

describe("the backup pod scripts against PostgreSQL 15 and pgBackRest", function () {
    this.timeout(600000);
    let base: string;
    let a: Node;
    let load: ChildProcess | undefined;
    const nodes: Node[] = [];
    /** A time and a WAL position from before the first backup. */
    let beforeBackup = { time: "", lsn: "" };
    /** A WAL position between the rows to keep and the DROP TABLE. */
    const beforeDrop = { lsn: "" };

    before(() => {
        assertIsolated();
        base = fs.mkdtempSync(path.join("/var/tmp", "rdb-backup-"));
        fs.chmodSync(base, 0o755);
        // The scripts ConfigMap of a manual-mode cluster with backups: the engine's, the manual topology's and pgBackRest's, flat.
        const scripts = path.join(base, "scripts");
        fs.mkdirSync(scripts);
        for (const [f, content] of Object.entries(folderScripts("common", "backup", "manual"))) fs.writeFileSync(path.join(scripts, f), content, { mode: 0o755 });
        fs.mkdirSync(path.join(base, "repo"));
        spawnSync("chown", ["-R", "postgres:postgres", path.join(base, "repo")]);
        a = new Node(base, "db", "default-db");
        nodes.push(a);
        a.initdb();
        a.start();
        a.sql("CREATE TABLE load (id bigserial PRIMARY KEY, at timestamptz NOT NULL DEFAULT clock_timestamp())");
        beforeBackup = { time: a.sql("SET TimeZone = 'UTC'; SELECT clock_timestamp()::text"), lsn: a.sql("SELECT pg_current_wal_lsn()") };
    });

    /** Stops the write load, once the insert it may have in flight has ended. */
    async function stopLoad(): Promise<void> {
        if (!load) return;
        const exited = new Promise((r) => load!.once("exit", r));
        load.kill("SIGTERM");
        await exited;
        load = undefined;
        await new Promise((r) => setTimeout(r, 1000));
    }

    after(async () => {
        await stopLoad();
        for (const n of nodes) {
            try {
                n.stop();
            } catch (e) {
                console.error(e);
            }
        }
        if (base) fs.rmSync(base, { recursive: true, force: true });
    });

    it("creates the stanza on the primary and proves that archiving into it works", () => {
        const r = a.script("backup-stanza.sh");
        assert.strictEqual(r.code, 0, r.err);
        assert.match(r.err, /stanza default-db is ready/);
        // Idempotent: a second run (every start of a primary) finds it valid.
        const again = a.script("backup-stanza.sh");
        assert.strictEqual(again.code, 0, again.err);
        assert.match(again.err, /already exists on repo1 and is valid/);
    });

    it("retries a failing stanza, and stops at once when told to: no process of it left, the lock free", async () => {
        // An unknown stanza fails at every try; the retry pauses 30 s, far longer than the stop may take.
        const run = spawn(AS_POSTGRES[0], [...AS_POSTGRES.slice(1), "/bin/bash", path.join(a.base, "scripts", "backup-stanza.sh"), "--retry"], {
            env: { ...a.env, PGBACKREST_STANZA: "no-such-stanza", RDB_STANZA_RETRY_SECONDS: "30" },
            stdio: ["ignore", "ignore", "pipe"],
            detached: true,
        });
        let err = "";
        run.stderr!.on("data", (d) => (err += d));
        const exited = new Promise<number | null>((r) => run.once("exit", (code) => r(code)));
        const deadline = Date.now() + 60000;
        while (!/retrying the stanza of no-such-stanza in 30 s/.test(err)) {
            if (Date.now() > deadline) throw new Error(`no retry announced: ${err}`);
            await new Promise((r) => setTimeout(r, 100));
        }
        await new Promise((r) => setTimeout(r, 300));
        const stoppedAt = Date.now();
        // As the supervisor's on_stop: TERM to the script's bash only (setpriv execs it), not to its children.
        process.kill(run.pid!, "SIGTERM");
        assert.strictEqual(await exited, 143);
        const left = () => spawnSync("pgrep", ["-g", String(run.pid)], { encoding: "utf8" }).stdout.trim();
        while (left() !== "" && Date.now() - stoppedAt < 5000) await new Promise((r) => setTimeout(r, 50));
        assert.strictEqual(left(), "", "processes of the retrying run outlived its stop");
        assert.ok(Date.now() - stoppedAt < 5000);
        // The next primary start's run takes the lock at once.
        const lock = spawnSync("flock", ["-n", path.join(a.run, "backup-stanza.lock"), "true"]);
        assert.strictEqual(lock.status, 0, "the lock is still held");
    });

    it("takes a full backup under a write load, which pgBackRest info lists, and records it", async () => {
        load = spawn(AS_POSTGRES[0], [...AS_POSTGRES.slice(1), "bash", "-c", `while :; do psql -X -q -h ${a.socket} -U postgres -d postgres -c "INSERT INTO load DEFAULT VALUES" || exit 1; done`], {
            env: a.env,
            stdio: "ignore",
        });
        await new Promise((r) => setTimeout(r, 1000));
        const before = Number(a.sql("SELECT count(*) FROM load"));
        const r = a.script("backup.sh", ["full"]);
        const during = Number(a.sql("SELECT count(*) FROM load")) - before;
        await stopLoad();
        assert.strictEqual(r.code, 0, r.err);
        assert.ok(during > 0, "the write load wrote nothing while the backup ran");
        assert.deepStrictEqual(a.backups().map((b) => b.type), ["full"]);
        const s = a.status();
        assert.strictEqual(s.last_result, "ok");
        assert.strictEqual(s.last_type, "full");
        assert.strictEqual(s.last_success, s.last_attempt);
        assert.match(s.last_duration_seconds, /^[0-9]+$/);
    });

    it("restores a new cluster to a point in time: the rows before it, not the DROP TABLE after it", async () => {
        const rows = Number(a.sql("SELECT count(*) FROM load"));
        // After the backup, so that they come back from the archived WAL, not from the backup's files.
        a.sql("CREATE TABLE keep AS SELECT g FROM generate_series(1, 1000) g");
        await new Promise((r) => setTimeout(r, 1100));
        const target = a.sql("SET TimeZone = 'UTC'; SELECT clock_timestamp()::text");
        beforeDrop.lsn = a.sql("SELECT pg_current_wal_lsn()");
        a.sql("SELECT pg_create_restore_point('before_drop')");
        await new Promise((r) => setTimeout(r, 1100));
        a.sql("DROP TABLE keep");
        // The DROP's segment in the archive, so that recovery finds a commit past the target.
        const segment = a.sql("SELECT pg_walfile_name(pg_switch_wal())");
        for (let i = 0; a.sql("SELECT coalesce(last_archived_wal, '') FROM pg_stat_archiver") < segment; i++) {
            assert.ok(i < 120, `segment ${segment} not archived within 60 s`);
            await new Promise((r) => setTimeout(r, 500));
        }

        const b = new Node(base, "db2", "default-db2", ["default-db"], { RDB_RESTORE_FROM: "default-db", RDB_RESTORE_TYPE: "time", RDB_RESTORE_TARGET: target });
        nodes.push(b);
        // A fresh volume's empty sub directory, and what a killed earlier attempt left.
        fs.mkdirSync(b.pgdata);
        fs.mkdirSync(`${b.pgdata}.restore`);
        fs.writeFileSync(`${b.pgdata}.restore/left-over`, "");
        spawnSync("chown", ["-R", "postgres:postgres", path.dirname(b.pgdata)]);
        const r = b.script("restore.sh");
        assert.strictEqual(r.code, 0, r.err);
        assert.deepStrictEqual(errors(r), []);
        assert.ok(!fs.existsSync(`${b.pgdata}.restore`), "the staging directory is still there");
        assert.ok(!fs.existsSync(path.join(b.pgdata, "left-over")), "the earlier attempt's file reached the data directory");
        assert.ok(!fs.existsSync(path.join(b.pgdata, "recovery.signal")));
        const auto = fs.readFileSync(path.join(b.pgdata, "postgresql.auto.conf"), "utf8");
        assert.doesNotMatch(auto, /restore_command|recovery_target/, auto);

        b.start();
        assert.strictEqual(b.sql("SELECT pg_is_in_recovery()"), "f");
        assert.strictEqual(b.sql("SELECT count(*) FROM keep"), "1000");
        assert.strictEqual(Number(b.sql("SELECT count(*) FROM load")), rows);
        assert.ok(Number(b.sql("SELECT timeline_id FROM pg_control_checkpoint()")) > 1, "the restored cluster is not on a new timeline");
        // The rendered restore_command is the one in force again: this cluster's stanza, not the source's.
        assert.strictEqual(b.sql("SHOW restore_command"), 'pgbackrest archive-get %f "%p"');
        // The new cluster archives into its own stanza.
        const stanza = b.script("backup-stanza.sh");
        assert.strictEqual(stanza.code, 0, stanza.err);
        assert.match(stanza.err, /stanza default-db2 is ready/);
    });

    for (const [type, target] of [
        ["lsn", () => beforeDrop.lsn],
        ["name", () => "before_drop"],
    ] as const) {
        it(`restores a new cluster to ${type === "lsn" ? "an LSN" : "a named restore point"} before the DROP TABLE`, () => {
            const c = new Node(base, `db-${type}`, `default-db-${type}`, ["default-db"], { RDB_RESTORE_FROM: "default-db", RDB_RESTORE_TYPE: type, RDB_RESTORE_TARGET: target() });
            nodes.push(c);
            const r = c.script("restore.sh");
            assert.strictEqual(r.code, 0, r.err);
            c.start();
            assert.strictEqual(c.sql("SELECT pg_is_in_recovery()"), "f");
            assert.strictEqual(c.sql("SELECT count(*) FROM keep"), "1000");
        });
    }

    it("makes the manual supervisor restore a new cluster's first primary instead of initdb, then check its stanza", async () => {
        const rows = a.sql("SELECT count(*) FROM load");
        const c = new Node(base, "db3", "default-db3", ["default-db"], {
            RDB_RESTORE_FROM: "default-db",
            RDB_RESTORE_TYPE: "latest",
            RDB_RESTORE_TARGET: "",
            RDB_SECRET_DIR: "",
            RDB_CLUSTER: "db3",
            RDB_POD_DNS_SUFFIX: ".db3-headless.default.svc.cluster.local",
            RDB_LISTEN_ADDRESSES: "",
            RDB_ALLOW_MAJOR_CHANGE: "false",
            RDB_REPLICA_GATE: "on",
            RDB_REPLICATION_USER: "replicator",
            RDB_REWIND_USER: "rewind",
            RDB_APP_USER: "app",
            RDB_APP_DATABASE: "app",
        });
        nodes.push(c);
        c.extraEnv.RDB_SECRET_DIR = path.join(c.dir, "secret");
        fs.mkdirSync(c.extraEnv.RDB_SECRET_DIR);
        for (const key of ["superuser-password", "replication-password", "app-password", "rewind-password"]) fs.writeFileSync(path.join(c.extraEnv.RDB_SECRET_DIR, key), `${key}-value`);
        fs.writeFileSync(path.join(c.config, "pod-count"), "1");
        fs.writeFileSync(path.join(c.config, "primary-ordinal"), "0");
        spawnSync("chown", ["-R", "postgres:postgres", c.dir]);
        const log = path.join(c.dir, "supervisor.log");
        const out = fs.openSync(log, "w");
        const supervisor = spawn(AS_POSTGRES[0], [...AS_POSTGRES.slice(1), "/bin/bash", path.join(base, "scripts", "entrypoint.sh")], { env: c.env, stdio: ["ignore", out, out] });
        fs.closeSync(out);
        const exited = new Promise<number | null>((r) => supervisor.once("exit", (code) => r(code)));
        try {
            const state = () => (fs.existsSync(path.join(c.run, "state")) ? fs.readFileSync(path.join(c.run, "state"), "utf8") : "");
            for (let i = 0; !/^phase=running$/m.test(state()) || !/stanza default-db3 is ready/.test(fs.readFileSync(log, "utf8")); i++) {
                assert.ok(i < 240 && supervisor.exitCode === null, `no running primary with a ready stanza within 120 s:\n${state()}\n${fs.readFileSync(log, "utf8")}`);
                await new Promise((r) => setTimeout(r, 500));
            }
            const text = fs.readFileSync(log, "utf8");
            assert.match(text, /restoring a new primary from stanza default-db/);
            assert.doesNotMatch(text, /initialising a new primary/);
            assert.match(state(), /^role=primary$/m);
            // latest: everything archived, the DROP TABLE included; the Secret's roles applied afterwards.
            assert.strictEqual(c.sql("SELECT count(*) FROM load"), rows);
            assert.strictEqual(c.sql("SELECT to_regclass('keep') IS NULL"), "t");
            assert.strictEqual(c.sql("SELECT count(*) FROM pg_roles WHERE rolname IN ('replicator', 'app')"), "2");
        } finally {
            supervisor.kill("SIGTERM");
        }
        assert.strictEqual(await exited, 0, fs.readFileSync(log, "utf8"));
    });

    for (const [type, target] of [
        ["time", () => beforeBackup.time],
        ["lsn", () => beforeBackup.lsn],
    ] as const) {
        it(`refuses a ${type} target before the first backup with one ERROR line, touching nothing`, () => {
            const c = new Node(base, `refused-${type}`, `default-refused-${type}`, ["default-db"], { RDB_RESTORE_FROM: "default-db", RDB_RESTORE_TYPE: type, RDB_RESTORE_TARGET: target() });
            fs.mkdirSync(c.pgdata);
            spawnSync("chown", ["postgres:postgres", c.pgdata]);
            const r = c.script("restore.sh");
            assert.notStrictEqual(r.code, 0);
            const lines = errors(r);
            assert.strictEqual(lines.length, 1, r.err);
            assert.ok(lines[0].includes(target()), lines[0]);
            assert.match(lines[0], /before the earliest restorable point of stanza default-db, (LSN )?\S+/);
            assert.deepStrictEqual(fs.readdirSync(c.pgdata), []);
            assert.ok(!fs.existsSync(`${c.pgdata}.restore`));
        });
    }

    it("fails, leaving $PGDATA alone and no server behind, when recovery cannot reach the target", () => {
        const c = new Node(base, "beyond", "default-beyond", ["default-db"], { RDB_RESTORE_FROM: "default-db", RDB_RESTORE_TYPE: "time", RDB_RESTORE_TARGET: "2099-01-01 00:00:00+00" });
        const r = c.script("restore.sh");
        assert.notStrictEqual(r.code, 0);
        assert.match(r.err, /recovery ended before configured recovery target was reached/);
        assert.strictEqual(errors(r).length, 1, r.err);
        assert.match(errors(r)[0], /the temporary server in \S+ exited \(status 1\) before it promoted at time 2099-01-01 00:00:00\+00/);
        assert.ok(!fs.existsSync(c.pgdata));
        assert.ok(!fs.existsSync(path.join(`${c.pgdata}.restore`, "postmaster.pid")), "the temporary server is still running");
    });

    it("refuses to restore from a stanza without a backup, touching nothing", () => {
        const c = new Node(base, "refused-empty", "default-refused-empty", ["default-none"], { RDB_RESTORE_FROM: "default-none", RDB_RESTORE_TYPE: "latest" });
        const r = c.script("restore.sh");
        assert.notStrictEqual(r.code, 0);
        assert.strictEqual(errors(r).length, 1, r.err);
        assert.match(errors(r)[0], /stanza default-none has no backup to restore from \(the repository says: missing stanza path\)/);
        assert.ok(!fs.existsSync(c.pgdata) && !fs.existsSync(`${c.pgdata}.restore`));
    });

    it("refuses a backup on a standby, which records the failure", () => {
        const s = new Node(base, "standby", "default-db");
        nodes.push(s);
        s.sh(`pg_basebackup -h ${a.socket} -U postgres -D "$PGDATA" -X stream -c fast`);
        fs.writeFileSync(path.join(s.pgdata, "standby.signal"), "");
        fs.writeFileSync(path.join(s.run, "follow.conf"), `primary_conninfo = 'host=${a.socket} port=5432 user=postgres'\n`);
        spawnSync("chown", ["-R", "postgres:postgres", s.dir]);
        s.start();
        assert.strictEqual(s.sql("SELECT pg_is_in_recovery()"), "t");
        const r = s.script("backup.sh", ["full"]);
        assert.notStrictEqual(r.code, 0);
        assert.strictEqual(errors(r).length, 1, r.err);
        assert.match(errors(r)[0], /full backup of stanza default-db refused: this server is a standby/);
        assert.strictEqual(a.backups().length, 1);
        assert.strictEqual(s.status().last_result, "failed");
    });

    it("fails visibly when the repository cannot be reached, keeping the last success in the status", () => {
        const before = a.status();
        assert.strictEqual(before.last_result, "ok");
        // An environment variable outranks pgbackrest.conf: a repository path the pod's user cannot create.
        const r = a.script("backup.sh", ["incr"], { PGBACKREST_REPO1_PATH: "/proc/rdb-no-repository" });
        assert.notStrictEqual(r.code, 0);
        assert.strictEqual(errors(r).length, 2, r.err);
        assert.match(errors(r)[0], /pgbackrest stanza-create for stanza default-db failed: /);
        assert.match(errors(r)[1], /incr backup of stanza default-db not started: the stanza is not ready/);
        const after = a.status();
        assert.strictEqual(after.last_result, "failed");
        assert.strictEqual(after.last_type, "incr");
        assert.strictEqual(after.last_success, before.last_success);
        assert.ok(Number(after.last_attempt) >= Number(before.last_attempt));
    });

    describe("backup-job.sh and the primary's backup requests (backup-requests.sh)", () => {
        let secrets: string;
        let ticker: ChildProcess | undefined;
        const job = (type: string, secretDir = secrets) =>
            a.script("backup-job.sh", [type], {
                POD_NAME: "",
                // libpq takes a socket directory for a host: the server here listens on its socket only.
                RDB_BACKUP_HOSTS: a.socket,
                RDB_BACKUP_PORT: "5432",
                RDB_BACKUP_USER: "backup",
                RDB_SECRET_DIR: secretDir,
                RDB_TLS_CA: "",
                RDB_BACKUP_POLL_SECONDS: "0.3",
            });
        const asBackup = (query: string) =>
            spawnSync(AS_POSTGRES[0], [...AS_POSTGRES.slice(1), "psql", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", `host=${a.socket} port=5432 dbname=postgres user=backup`, "-c", query], {
                env: { ...a.env, PGPASSWORD: "backup-password-1" },
                encoding: "utf8",
            });
        /** The supervisor's tick on the primary, every 300 ms, as the pod's user with the pod's env (and `extra`). */
        async function startTicker(extra: Record<string, string> = {}): Promise<void> {
            await stopTicker();
            const script = `. "$RDB_SCRIPTS_DIR/lib.sh"; . "$RDB_SCRIPTS_DIR/backup-requests.sh"; while :; do backup_requests_tick; sleep 0.3; done`;
            ticker = spawn(AS_POSTGRES[0], [...AS_POSTGRES.slice(1), "/bin/bash", "-c", script], {
                env: { ...a.env, RDB_BACKUP_USER: "backup", ...extra },
                stdio: ["ignore", "ignore", fs.openSync(path.join(a.dir, "ticker.log"), "a")],
                detached: true,
            });
        }
        async function stopTicker(): Promise<void> {
            if (!ticker) return;
            const exited = new Promise((r) => ticker!.once("exit", r));
            process.kill(-ticker.pid!, "SIGKILL");
            await exited;
            ticker = undefined;
        }

        before(() => {
            // The role and its two functions, as roles_sql makes them on a primary with backups on.
            fs.mkdirSync(path.join(a.run, "secret"), { recursive: true });
            fs.writeFileSync(path.join(a.run, "secret", "backup-password"), "backup-password-1", { mode: 0o600 });
            secrets = path.join(base, "job-secret");
            fs.mkdirSync(secrets);
            fs.writeFileSync(path.join(secrets, "backup-password"), "backup-password-1");
            spawnSync("chown", ["-R", "postgres:postgres", a.run, secrets]);
            a.sh('. "$RDB_SCRIPTS_DIR/lib.sh"; backup_sql | local_psql -v superuser=postgres -v backup_user=backup >/dev/null');
            // Its password over the socket (peer for everyone else, as the rendered rules have it for the pod's user).
            fs.writeFileSync(path.join(a.config, "pg_hba.conf"), "local postgres backup scram-sha-256\nlocal all all peer\nlocal replication all peer\n");
            a.sql("SELECT pg_reload_conf()");
        });
        after(() => stopTicker());

        it("takes the backup a Job asks for: backup.sh runs where the data is, and the Job sees its outcome", async () => {
            await startTicker();
            const before = a.backups().length;
            const r = job("diff");
            assert.strictEqual(r.code, 0, r.err);
            assert.match(r.err, /asked the primary for a diff backup \(request 1\)/);
            assert.match(r.err, /the diff backup of request 1 completed/);
            assert.strictEqual(a.backups().length, before + 1);
            assert.strictEqual(a.backups().slice(-1)[0].type, "diff");
            assert.strictEqual(a.status().last_type, "diff");
            assert.strictEqual(a.status().last_result, "ok");
            assert.strictEqual(a.sql("SELECT type || ' ' || state || ' ' || pod FROM replicated_db.backup_requests WHERE id = 1"), "diff ok db-0");
        });

        it("fails the Job with the backup's failure, and a request marked running that nothing runs is failed", async () => {
            // backup.sh fails where it runs (its stanza is unknown): the Job fails, naming where to look.
            await startTicker({ PGBACKREST_STANZA: "no-such-stanza" });
            const r = job("full");
            assert.strictEqual(r.code, 1);
            assert.match(r.err, /ERROR: the full backup of request 2 failed: backup.sh exited with status 1 on db-0; its ERROR line is in that pod's log/);
            // A request another pod started before it stopped being the primary.
            a.sql("INSERT INTO replicated_db.backup_requests (type, state, pod) VALUES ('full', 'running', 'db-9')");
            await startTicker();
            const deadline = Date.now() + 30000;
            while (a.sql("SELECT state FROM replicated_db.backup_requests WHERE id = 3") !== "failed") {
                if (Date.now() > deadline) throw new Error("the abandoned request was not failed");
                await new Promise((res) => setTimeout(res, 200));
            }
            assert.match(a.sql("SELECT detail FROM replicated_db.backup_requests WHERE id = 3"), /stopped being the primary, or its supervisor restarted/);
        });

        it("forgets a finished request 30 days after it finished, when another one finishes", async () => {
            a.sql(`INSERT INTO replicated_db.backup_requests (type, state, finished_at, detail) VALUES
                   ('full', 'ok', now() - interval '31 days', 'finished 31 days ago'), ('full', 'ok', now() - interval '29 days', 'finished 29 days ago')`);
            const before = a.sql("SELECT count(*) FROM replicated_db.backup_requests");
            await startTicker();
            const r = job("incr");
            assert.strictEqual(r.code, 0, r.err);
            assert.strictEqual(a.sql("SELECT string_agg(detail, ',') FROM replicated_db.backup_requests WHERE detail LIKE 'finished %'"), "finished 29 days ago");
            // The new request in, the 31-day-old one out; every recent one stays.
            assert.strictEqual(a.sql("SELECT count(*) FROM replicated_db.backup_requests"), before);
        });

        it("the backup role may ask for a backup and read its outcome, nothing more; a wrong password asks nothing", () => {
            assert.strictEqual(asBackup("SELECT replicated_db.backup_outcome(1)").stdout.trim(), "ok");
            for (const [q, why] of [
                ["SELECT * FROM replicated_db.backup_requests", /permission denied for table backup_requests/],
                ["UPDATE replicated_db.backup_requests SET state = 'ok'", /permission denied for table backup_requests/],
                ["SELECT count(*) FROM load", /permission denied for table load/],
                ["CREATE TABLE mine (i int)", /permission denied for schema public/],
                ["SELECT pg_read_file('postgresql.auto.conf')", /permission denied for function pg_read_file/],
            ] as [string, RegExp][]) {
                const r = asBackup(q);
                assert.notStrictEqual(r.status, 0, `the backup role ran: ${q}`);
                assert.match(r.stderr, why, q);
            }
            const wrong = path.join(base, "wrong-secret");
            fs.mkdirSync(wrong);
            fs.writeFileSync(path.join(wrong, "backup-password"), "not-it");
            spawnSync("chown", ["-R", "postgres:postgres", wrong]);
            const requests = a.sql("SELECT count(*) FROM replicated_db.backup_requests");
            const r = job("full", wrong);
            assert.strictEqual(r.code, 1);
            assert.match(r.err, /ERROR: could not ask the primary for a full backup: .*password authentication failed for user "backup"/);
            assert.strictEqual(a.sql("SELECT count(*) FROM replicated_db.backup_requests"), requests);
        });
    });
});

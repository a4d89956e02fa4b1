/**
 * The Secret's passwords as both modes take them (lib.sh accept_secret, secret_file, secret_checksum), run
 * with bash as the pods run it: only a Secret whose every key is there and not empty is copied, and
 * everything reads the copy, so a key emptied after the check can never be read.
 */
import * as assert from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { scriptPath } from "../scriptFolders";

const LIB = scriptPath("common", "lib.sh");
const KEYS = ["superuser-password", "replication-password", "app-password", "rewind-password"];

describe("the accepted copy of the Secret (lib.sh accept_secret)", () => {
    let dir: string;
    let mounted: string;
    let run: string;
    beforeEach(() => {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "accept-secret-"));
        mounted = path.join(dir, "secret");
        run = path.join(dir, "run");
        fs.mkdirSync(mounted);
        fs.mkdirSync(run);
        for (const k of KEYS) fs.writeFileSync(path.join(mounted, k), `${k}-1`);
    });
    afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

    const bash = (script: string, extra: NodeJS.ProcessEnv = {}) => {
        const env = { PATH: process.env.PATH, POD_NAME: "db-0", RDB_SECRET_DIR: mounted, RDB_RUN_DIR: run, ...extra };
        const r = spawnSync("bash", ["--norc", "--noprofile", "-c", `set -euo pipefail; . "${LIB}"; ${script}`], { env, encoding: "utf8" });
        return { status: r.status, stdout: r.stdout, stderr: r.stderr };
    };
    const accepted = (k: string) => fs.readFileSync(path.join(run, "secret", k), "utf8");
    const accept = (extra: NodeJS.ProcessEnv = {}) => bash("accept_secret", extra);

    it("copies a usable Secret into pod memory, readable by its owner only, and reads every password from the copy", () => {
        assert.deepStrictEqual(accept(), { status: 0, stdout: "", stderr: "" });
        for (const k of KEYS) {
            assert.strictEqual(accepted(k), `${k}-1`);
            assert.strictEqual(fs.statSync(path.join(run, "secret", k)).mode & 0o777, 0o600, `${k}'s mode`);
        }
        assert.strictEqual(fs.statSync(path.join(run, "secret")).mode & 0o777, 0o700);
        assert.strictEqual(bash("secret_file app-password").stdout, path.join(run, "secret", "app-password"));
        // The SQL that sets the passwords and the passfiles name the copy, never the mount.
        const sql = bash("roles_sql").stdout;
        assert.ok(!sql.includes(mounted), "roles_sql reads the mounted Secret");
        for (const k of KEYS) assert.ok(sql.includes(`cat "${path.join(run, "secret", k)}"`), `roles_sql does not read the copy of ${k}`);
        assert.strictEqual(bash('write_pgpass && cat "$RDB_RUN_DIR/pgpass"', { RDB_REPLICATION_USER: "replicator" }).stdout, "*:*:*:replicator:replication-password-1\n");
    });

    it("refuses an empty or missing key, naming it, and keeps every last good password", () => {
        assert.strictEqual(accept().status, 0);
        const before = bash("secret_checksum").stdout;
        fs.writeFileSync(path.join(mounted, "replication-password"), "replication-password-2");
        fs.writeFileSync(path.join(mounted, "app-password"), "");
        assert.deepStrictEqual(accept(), { status: 1, stdout: "key app-password is empty", stderr: "" });
        for (const k of KEYS) assert.strictEqual(accepted(k), `${k}-1`, `${k} changed although the Secret was refused`);
        assert.strictEqual(bash("secret_checksum").stdout, before);
        fs.rmSync(path.join(mounted, "superuser-password"));
        assert.deepStrictEqual(accept(), { status: 1, stdout: "key superuser-password is missing", stderr: "" });
        assert.strictEqual(bash('secret_refused "key superuser-password is missing"').stderr.replace(/^\S+ /, ""),
            "db-0 ERROR: the Secret's key superuser-password is missing: refused, keeping the last good passwords (set a non-empty value)\n");
    });

    it("takes a usable Secret again after a refused one, and the checksum follows the copy", () => {
        assert.strictEqual(accept().status, 0);
        const before = bash("secret_checksum").stdout;
        fs.writeFileSync(path.join(mounted, "app-password"), "");
        assert.strictEqual(accept().status, 1);
        fs.writeFileSync(path.join(mounted, "app-password"), "app-password-2");
        assert.strictEqual(accept().status, 0);
        assert.strictEqual(accepted("app-password"), "app-password-2");
        assert.notStrictEqual(bash("secret_checksum").stdout, before);
    });

    it("take_secret (both modes' loops) says a refusal once per distinct problem, and again after a usable Secret", () => {
        // Five rounds in one shell, as a loop calls it: each round's status, then what was said.
        const round = (n: number, file: string, value: string) =>
            `printf '%s' '${value}' >"$RDB_SECRET_DIR/${file}"; take_secret && echo "${n} ok" || echo "${n} refused"`;
        const r = bash([
            round(1, "app-password", ""),
            round(2, "app-password", ""),
            round(3, "replication-password", ""),
            `printf x >"$RDB_SECRET_DIR/replication-password"; ` + round(4, "app-password", "app-password-2"),
            round(5, "app-password", ""),
        ].join("; "));
        assert.strictEqual(r.status, 0, r.stderr);
        assert.strictEqual(r.stdout, "1 refused\n2 refused\n3 refused\n4 ok\n5 refused\n");
        assert.deepStrictEqual(r.stderr.split("\n").filter(Boolean).map((l) => l.replace(/^\S+ db-0 ERROR: the Secret's /, "")), [
            "key app-password is empty: refused, keeping the last good passwords (set a non-empty value)",
            "key replication-password is empty: refused, keeping the last good passwords (set a non-empty value)",
            "key app-password is empty: refused, keeping the last good passwords (set a non-empty value)",
        ]);
        assert.strictEqual(accepted("app-password"), "app-password-2");
    });

    it("has no checksum before anything was accepted, so that a first start without a usable Secret fails", () => {
        fs.writeFileSync(path.join(mounted, "app-password"), "");
        assert.strictEqual(accept().status, 1);
        const r = bash("secret_checksum");
        assert.notStrictEqual(r.status, 0);
        assert.strictEqual(r.stdout, "");
    });

    it("takes the replication password of a standby cluster from the source's mounted Secret", () => {
        const source = path.join(dir, "source");
        fs.mkdirSync(source);
        fs.writeFileSync(path.join(source, "replication-password"), "the-source's");
        assert.strictEqual(accept({ RDB_REPLICATION_SECRET_DIR: source }).status, 0);
        assert.strictEqual(accepted("replication-password"), "the-source's");
        fs.writeFileSync(path.join(source, "replication-password"), "");
        assert.deepStrictEqual(accept({ RDB_REPLICATION_SECRET_DIR: source }), { status: 1, stdout: "key replication-password is empty", stderr: "" });
        assert.strictEqual(accepted("replication-password"), "the-source's");
    });

    it("includes the monitoring and pooler passwords when those roles are on", () => {
        const extra = { RDB_MONITORING_USER: "monitor", RDB_POOLER_USER: "pooler" };
        assert.deepStrictEqual(accept(extra), { status: 1, stdout: "key pooler-password is missing", stderr: "" });
        fs.writeFileSync(path.join(mounted, "pooler-password"), "p");
        assert.deepStrictEqual(accept(extra), { status: 1, stdout: "key monitoring-password is missing", stderr: "" });
        fs.writeFileSync(path.join(mounted, "monitoring-password"), "m");
        assert.strictEqual(accept(extra).status, 0);
        assert.strictEqual(accepted("pooler-password"), "p");
        assert.strictEqual(accepted("monitoring-password"), "m");
    });

    it("includes the failover mode's own passwords (RDB_MODE_SECRET_KEYS), and its checksum follows them", () => {
        const extra = { RDB_MODE_SECRET_KEYS: "patroni-api-password" };
        assert.deepStrictEqual(accept(extra), { status: 1, stdout: "key patroni-api-password is missing", stderr: "" });
        fs.writeFileSync(path.join(mounted, "patroni-api-password"), "a1");
        assert.strictEqual(accept(extra).status, 0);
        assert.strictEqual(accepted("patroni-api-password"), "a1");
        const before = bash("secret_checksum", extra).stdout;
        fs.writeFileSync(path.join(mounted, "patroni-api-password"), "a2");
        assert.strictEqual(accept(extra).status, 0);
        assert.notStrictEqual(bash("secret_checksum", extra).stdout, before, "a rotated API password is a new Secret");
        assert.strictEqual(accept().status, 0, "without the mode's keys, the roles' alone");
    });
});

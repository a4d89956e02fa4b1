/**
 * The manual mode's supervisor on real servers, for what goes wrong around it: a bad value written into
 * the ConfigMap by hand, an empty password rotated into the Secret, a replica that stops streaming, a new
 * target chosen while the old primary is still waiting to rejoin, and probes that are killed at any moment.
 */
import * as assert from "assert";
import { spawn, spawnSync } from "child_process";
import * as fs from "fs";
import { Cluster, sleep } from "../harness/cluster";

describe("the manual mode's supervisor on real PostgreSQL servers", function () {
    this.timeout(300000);
    const c = new Cluster({ args: { replicas: 2 }, restartExited: true });
    const superuser = { user: "postgres", database: "postgres" };
    const writable = () => [0, 1, 2].filter((i) => c.pod(i).running && c.psql(i, "SELECT pg_is_in_recovery()", superuser).stdout.trim() === "f");
    const followers = (primary: number) =>
        c.sql(primary, "SELECT string_agg(application_name, ',' ORDER BY application_name) FROM pg_stat_replication WHERE state = 'streaming'", superuser);
    const log = (i: number) => fs.readFileSync(c.logFile(i), "utf8");
    const state = (i: number) => fs.readFileSync(`${c.pod(i).root}/mounts/run/state`, "utf8");

    const handEdit = c.editObject.bind(c);

    before(async () => {
        await c.up();
        c.sql(0, "CREATE TABLE items (id bigserial PRIMARY KEY, note text NOT NULL)");
    });
    after(() => c.cleanup());

    it("refuses an out-of-range primary-ordinal in the container log, keeps every server, and takes the corrected value", async () => {
        await handEdit("configMaps", "db-settings", "primary-ordinal", "7");
        await c.until("every pod to log the refusal", () => [0, 1, 2].every((i) => /config primary-ordinal is "7": not a whole number from 0 to 2/.test(log(i))));
        await sleep(3000);
        assert.deepStrictEqual(writable(), [0], "the primary keeps taking writes");
        assert.strictEqual(followers(0), "db_1,db_2", "the replicas keep streaming");
        for (const i of [0, 1, 2]) assert.ok(c.pod(i).probe("readinessProbe").ok, `db-${i} stays ready`);
        for (const i of [0, 1, 2]) assert.strictEqual(log(i).match(/config primary-ordinal is "7"/g)!.length, 1, `db-${i} says it once, not every second`);
        await handEdit("configMaps", "db-settings", "primary-ordinal", "1");
        await c.until("db-1 to be the primary and the others to follow it", () => writable().join() === "1" && followers(1) === "db_0,db_2", 120000);
    });

    it("a new target chosen while the old primary waits to rejoin: it follows the newest choice", async () => {
        // The sequence: switch over to t1, t1 dies before the old primary has rejoined it, the
        // operator picks t2. The old primary must follow t2, not wait for t1 for ever.
        const p = writable()[0];
        const [t1, t2] = [(p + 1) % 3, (p + 2) % 3];
        c.sql(p, "INSERT INTO items (note) VALUES ('before the switch')");
        await c.apply({ primaryOrdinal: t1 });
        await c.stop(t1, "SIGKILL");
        await c.apply({ primaryOrdinal: t2 });
        await c.until(`db-${t2} to promote and db-${p} to follow it`, () => writable().join() === String(t2) && followers(t2) === `db_${p}`, 120000);
        assert.strictEqual(c.sql(t2, "SELECT count(*) FROM items WHERE note = 'before the switch'"), "1");
        c.start(t1);
        await c.until(`db-${t1} to rejoin db-${t2}`, () => followers(t2) === [`db_${p}`, `db_${t1}`].sort().join(","), 120000);
        assert.deepStrictEqual(writable(), [t2]);
    });

    it("refuses an empty password in the Secret loudly and keeps the last good one, across a restart of the primary; a new pod waits for a usable one", async () => {
        const before = c.secret("app-password");
        const primary = writable()[0];
        const replica = (primary + 1) % 3;
        try {
            await handEdit("secrets", "db-credentials", "app-password", "");
            await c.until("every pod to log the refusal", () => [0, 1, 2].every((i) => /the Secret's key app-password is empty: refused/.test(log(i))));
            await sleep(2000);
            for (const i of [0, 1, 2]) assert.strictEqual(log(i).match(/key app-password is empty/g)!.length, 1, `db-${i} says it once`);
            assert.strictEqual(c.sql(primary, "SELECT current_user", { password: before }), "app", "the app still logs in with its last good password");
            for (const i of [0, 1, 2]) assert.ok(c.pod(i).probe("readinessProbe").ok, `db-${i} stays ready`);
            // A restart of the primary's container keeps the pod's memory, and with it the last good passwords:
            // it takes writes again with them, not waiting for the Secret to be mended.
            await c.restart(primary, "SIGINT");
            await c.until(`db-${primary} to take writes again`, () => writable().join() === String(primary), 60000);
            assert.strictEqual(c.sql(primary, "SELECT current_user", { password: before }), "app", "the app logs in after the restart with its last good password");
            // A new pod has no earlier copy: it stops at start and says why, until the Secret is mended.
            await c.deletePod(replica, { recreate: false });
            c.start(replica);
            await c.until(`the new db-${replica} to stop at start`, () => /FATAL: the Secret is not usable and there are no earlier passwords to keep/.test(log(replica)), 60000);
        } finally {
            // The tests after this one start pods, which must find a usable Secret.
            await handEdit("secrets", "db-credentials", "app-password", before);
        }
        await c.until(`db-${replica} to start with the mended Secret and stream`, () => followers(primary) === [0, 1, 2].filter((i) => i !== primary).map((i) => `db_${i}`).join(","), 120000);
    });

    it("a password emptied at any moment of the primary's tick never reaches ALTER ROLE", async () => {
        // The check and the read were once apart: a key emptied between them cleared the role's password. Here
        // the Secret swings between a new password and an empty one at random points of the primary's ticks.
        const before = c.secret("app-password");
        const primary = writable()[0];
        const accepted = () => fs.readFileSync(`${c.pod(primary).root}/mounts/run/secret/app-password`, "utf8");
        // A cleared password lasts until the next round's is applied, a tick or more: sampled every 100 ms.
        let clearedSeen = 0;
        const sampler = setInterval(() => {
            const r = c.psql(primary, "SELECT count(*) FROM pg_authid WHERE rolname = 'app' AND rolpassword IS NULL", superuser);
            if (r.status === 0 && r.stdout.trim() !== "0") clearedSeen++;
        }, 100);
        try {
            for (let round = 1; round <= 20; round++) {
                await handEdit("secrets", "db-credentials", "app-password", `${before}-${round}`);
                await sleep(Math.floor(Math.random() * 1200));
                await handEdit("secrets", "db-credentials", "app-password", "");
                await sleep(Math.floor(Math.random() * 600));
            }
            await sleep(3000);
            clearInterval(sampler);
            assert.strictEqual(clearedSeen, 0, "the app role's password was cleared (samples that saw it)");
            const last = accepted();
            assert.ok(last.startsWith(`${before}-`), `the accepted copy holds '${last}', not a password the Secret had`);
            assert.strictEqual(c.sql(primary, "SELECT current_user", { password: last }), "app", "the app logs in with the last accepted password");
        } finally {
            clearInterval(sampler);
            await handEdit("secrets", "db-credentials", "app-password", before);
        }
        await c.until("the primary to apply the Secret's password again", () => c.psql(primary, "SELECT 1", { password: before }).status === 0, 30000);
    });

    it("a replica that stops streaming refuses application connections on every path, and serves again once it streams", async () => {
        const primary = writable()[0];
        const replica = [0, 1, 2].find((i) => i !== primary)!;
        // Take the replica's stream away by stopping the primary (its pod stays down for the test's purpose).
        await c.stop(primary, "SIGINT");
        await c.until(`db-${replica} to refuse the app`, () => /pg_hba.conf rejects connection/.test(c.psql(replica, "SELECT 1").stderr), 30000);
        assert.match(state(replica), /ready=no/);
        assert.ok(!c.pod(replica).probe("readinessProbe").ok);
        // The rewind role (the other pods' pg_rewind), the replication user (their questions) and the superuser (an
        // operator's diagnosis) still get in.
        assert.strictEqual(c.sql(replica, "SELECT 1", superuser), "1");
        assert.strictEqual(c.sql(replica, "SELECT 1", { user: "rewind", password: c.secret("rewind-password"), database: "postgres" }), "1");
        assert.strictEqual(c.sql(replica, "SELECT 1", { user: "replicator", database: "postgres" }), "1");
        assert.match(log(replica), /refusing application connections: not streaming/);
        c.start(primary);
        await c.until(`db-${replica} to serve the app again`, () => c.psql(replica, "SELECT 1").status === 0, 120000);
        assert.match(log(replica), /accepting application connections again: streaming again/);
    });

    it("probes only read: killed at any moment during a switchover, they change nothing", async () => {
        const primary = writable()[0];
        const target = (primary + 1) % 3;
        const killer = setInterval(() => {
            for (const p of c.pods.values()) {
                if (!p.running) continue;
                for (const kind of ["readiness", "liveness", "startup"]) {
                    const child = spawn("nsenter", ["-t", String(p.pid), "-m", "--", "setpriv", "--reuid=999", "--regid=999", "--groups=999", "--",
                        "/bin/bash", "/etc/replicated-db/scripts/probe.sh", kind], { stdio: "ignore" });
                    setTimeout(() => child.kill("SIGKILL"), Math.floor(Math.random() * 30));
                }
            }
        }, 200);
        try {
            await c.apply({ primaryOrdinal: target });
            const others = [0, 1, 2].filter((i) => i !== target).map((i) => `db_${i}`).join(",");
            await c.until(`db-${target} to be the primary with both replicas streaming`, () => writable().join() === String(target) && followers(target) === others, 120000);
        } finally {
            clearInterval(killer);
        }
        // The probe script runs no server tool at all: with nothing but sed and date on PATH it still answers.
        const bin = `${c.base}/probe-bin`;
        fs.mkdirSync(bin);
        for (const tool of ["sed", "date"]) fs.symlinkSync(`/usr/bin/${tool}`, `${bin}/${tool}`);
        const p = c.pod(target);
        const probe = () =>
            spawnSync("/usr/bin/nsenter", ["-t", String(p.pid), "-m", "--", "/usr/bin/setpriv", "--reuid=999", "--regid=999", "--groups=999", "--", "/bin/bash", "/etc/replicated-db/scripts/probe.sh", "readiness"], {
                env: { PATH: bin, RDB_SCRIPTS_DIR: "/etc/replicated-db/scripts", RDB_RUN_DIR: "/run/replicated-db" },
                encoding: "utf8",
            });
        // The supervisor marks the new primary ready at the end of its next tick.
        await c.until("the readiness probe to pass with no server tool on PATH", () => probe().status === 0, 30000);
    });
});

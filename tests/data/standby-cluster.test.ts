/**
 * A standby cluster (docs/standby.md), manual failover mode: two clusters in one
 * run, "src" and "dr" (dr's pods on addresses of their own, dr's pods resolving src's names as a cross-cluster
 * DNS would). dr's named pod streams from src's primary with verify-full against src's CA, dr's replica
 * cascades from it; under writes to src the lag is measured; then every src pod is SIGKILLed (the region is
 * gone), dr is promoted by one config change (`standby.enabled: false`, applied as `pulumi up` would), keeps
 * every row it had replayed when src died, takes writes, and its replica follows.
 */
import * as assert from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { ReplicatedDatabaseArgs } from "../../components/args";
import { Cluster, sleep } from "../harness/cluster";
import { PATRONI_IMAGE } from "../harness/patroni";
import { patroniRequest } from "../harness/patroniApi";
import { labelledReadyEndpoints } from "../harness/service";
import { StandbySettings, localPsql, patroniRole, standbyLeader } from "./standby-support";
import { AckedWriter } from "../harness/writer";

/** "X/Y" (hexadecimal halves) as a byte position. */
function lsnBytes(lsn: string): bigint {
    const [hi, lo] = lsn.split("/");
    return (BigInt(`0x${hi}`) << 32n) + BigInt(`0x${lo}`);
}

function summary(values: number[]): string {
    const s = [...values].sort((a, b) => a - b);
    const at = (q: number) => s[Math.min(s.length - 1, Math.floor(q * s.length))];
    return `n=${s.length} median=${at(0.5)} p95=${at(0.95)} max=${s[s.length - 1]}`;
}

/**
 * The standby cluster "dr" of `src`, with `args` beside its standby settings: its pods on addresses of their own,
 * resolving src's names as a cross-cluster DNS would, and src's replication password in the Secret the user (or
 * the DR example's stack) creates in dr's namespace.
 */
function standbyClusterOf(src: Cluster, args: ReplicatedDatabaseArgs): { dr: Cluster; standby: StandbySettings } {
    const standby: StandbySettings = {
        enabled: true,
        sourceHosts: [src.host(0)],
        replicationSecretName: "src-replication",
        sourceCaCertificate: fs.readFileSync(src.caFile!, "utf8"),
    };
    const dr = new Cluster({
        name: "dr",
        addressOffset: 20,
        extraHosts: src.podHostLines(),
        secrets: { "src-replication": { "replication-password": src.secret("replication-password") } },
        args: { replicas: 1, ...args, standby },
    });
    return { dr, standby };
}

describe("a standby cluster of another cluster on real PostgreSQL servers (manual failover)", function () {
    this.timeout(600000);
    const src = new Cluster({ name: "src", args: { replicas: 1 } });
    let dr: Cluster;
    let standby: StandbySettings;
    const acks = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "rdb-standby-")), "acks");
    let writer: AckedWriter | undefined;

    const local = (ordinal: number, query: string, db = "app") => localPsql(dr, ordinal, query, db);
    const ids = async (ordinal: number): Promise<Set<number>> =>
        new Set((await local(ordinal, "SELECT id FROM items ORDER BY id")).split("\n").filter(Boolean).map(Number));

    before(async () => {
        await src.up();
        src.sql(0, "CREATE TABLE items (id bigint PRIMARY KEY, note text NOT NULL)");
        ({ dr, standby } = standbyClusterOf(src, {}));
        await dr.up();
    });
    after(async () => {
        await writer?.stop();
        await dr?.cleanup();
        await src.cleanup();
    });

    it("streams from the source with verify-full; its replica cascades from it; it takes no writes", async () => {
        src.sql(0, "INSERT INTO items VALUES (0, 'before')");
        await dr.until("the row on dr's replica", () => dr.sql(1, "SELECT count(*) FROM items WHERE id = 0", { password: src.secret("app-password") }) === "1");
        assert.strictEqual(await local(0, "SELECT pg_is_in_recovery()"), "t");
        assert.strictEqual(await local(0, "SELECT sender_host || ' ' || status FROM pg_stat_wal_receiver"), `${src.host(0)} streaming`);
        assert.strictEqual(await local(1, "SELECT sender_host || ' ' || status FROM pg_stat_wal_receiver"), `${dr.host(0)} streaming`);
        // On the source: dr-0's walsender is a TLS session; no slot was made for it.
        const sender = src.sql(0, "SELECT s.ssl FROM pg_stat_replication r JOIN pg_stat_ssl s USING (pid) WHERE r.application_name = 'dr_0'", { user: "postgres", database: "postgres" });
        assert.strictEqual(sender, "t");
        assert.strictEqual(src.sql(0, "SELECT count(*) FROM pg_replication_slots WHERE slot_name LIKE 'dr%'", { user: "postgres", database: "postgres" }), "0");
        // Reads with the source's roles (dr's data is src's copy); a write is refused.
        const write = dr.psql(0, "INSERT INTO items VALUES (-1, 'refused')", { password: src.secret("app-password") });
        assert.notStrictEqual(write.status, 0);
        assert.match(write.stderr, /read-only transaction/);
        // dr's named pod is labelled a replica: dr's read-write Service has no endpoint.
        assert.deepStrictEqual(dr.serviceEndpoints("rw"), []);
        assert.deepStrictEqual(dr.serviceEndpoints("ro"), [0, 1]);
    });

    let atKill = new Set<number>();
    let ackedAtKill: number[] = [];

    it("follows the source under writes (lag measured), and keeps what it replayed when the source dies", async () => {
        writer = new AckedWriter(src.hosts([0, 1]), src.secret("app-password"), "items", acks);
        const bytes: number[] = [];
        const millis: number[] = [];
        const end = Date.now() + 15000;
        while (Date.now() < end) {
            // dr first: the difference is then an upper bound of the lag at that moment.
            const drLsn = await local(0, "SELECT pg_last_wal_replay_lsn()", "postgres");
            const srcLsn = src.sql(0, "SELECT pg_current_wal_lsn()", { user: "postgres", database: "postgres" });
            bytes.push(Math.max(0, Number(lsnBytes(srcLsn) - lsnBytes(drLsn))));
            millis.push(Number(await local(0, "SELECT coalesce(round(extract(epoch FROM now() - pg_last_xact_replay_timestamp()) * 1000), -1)", "postgres")));
            await sleep(500);
        }
        console.log(`      replay lag behind src's primary, bytes: ${summary(bytes)}`);
        console.log(`      replay lag, ms since the last replayed commit: ${summary(millis)}`);
        assert.ok(writer.acked().length > 50, `the writer committed ${writer.acked().length} rows on src`);
        assert.ok(Math.min(...bytes) < 1024 * 1024, "dr caught up within 1 MB at least once under writes");

        // The source region is gone: every src pod at once, no shutdown.
        await Promise.all([src.stop(0, "SIGKILL"), src.stop(1, "SIGKILL")]);
        await sleep(1000);
        const w = writer;
        writer = undefined;
        await w.stop();
        ackedAtKill = w.acked();
        atKill = await ids(0);
        const lost = ackedAtKill.filter((i) => !atKill.has(i));
        console.log(`      at the kill: ${ackedAtKill.length} rows acknowledged by src, ${atKill.size - 1} replayed on dr-0, acknowledged but not on dr: ${lost.length}`);
        assert.ok(atKill.size > 1, "dr had replayed some of the writes");
        // What dr holds is a prefix of src's history: no acknowledged row below its newest one is missing.
        const newest = Math.max(...atKill);
        assert.deepStrictEqual(ackedAtKill.filter((i) => i <= newest && !atKill.has(i)), []);
    });

    it("promotes by one config change, keeps every row it had, takes writes, and its replica follows", async () => {
        const started = Date.now();
        await dr.apply({ standby: { ...standby, enabled: false } });
        await dr.until("dr-0 takes writes", () => dr.roleLabel(0) === "primary" && dr.ready(0), 120000);
        console.log(`      promotion: ${Date.now() - started} ms from the applied config to dr-0 ready as the primary`);
        // Every row it had replayed at the kill is still there.
        const after = await ids(0);
        assert.deepStrictEqual([...atKill].filter((i) => !after.has(i)), []);
        // dr's own Secret's passwords are applied after the promotion: its clients use dr's outputs now.
        await dr.until("dr's own app password works on dr-0", () => dr.sql(0, "SELECT 1") === "1");
        dr.sql(0, "INSERT INTO items VALUES (1000000, 'after the promotion')");
        await dr.until("the new row on dr's replica", () => dr.sql(1, "SELECT count(*) FROM items WHERE id = 1000000") === "1", 60000);
        assert.strictEqual(await local(1, "SELECT sender_host || ' ' || status FROM pg_stat_wal_receiver"), `${dr.host(0)} streaming`);
        assert.deepStrictEqual(dr.serviceEndpoints("rw"), [0]);
        await dr.until("dr-1 ready as a replica", () => dr.serviceEndpoints("ro").join(",") === "1", 30000);
    });
});

describe("a standby cluster with Patroni of a manual-mode source on real PostgreSQL servers", function () {
    this.timeout(600000);
    const src = new Cluster({ name: "src", args: { replicas: 1 } });
    let dr: Cluster;
    let standby: StandbySettings;
    const acks = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "rdb-standby-patroni-")), "acks");
    let writer: AckedWriter | undefined;
    const superuser = { user: "postgres", database: "postgres" };

    const local = (ordinal: number, query: string, db = "app") => localPsql(dr, ordinal, query, db);
    const role = (ordinal: number) => patroniRole(dr, ordinal);
    let leader = -1;

    before(async () => {
        await src.up();
        src.sql(0, "CREATE TABLE items (id bigint PRIMARY KEY, note text NOT NULL)");
        ({ dr, standby } = standbyClusterOf(src, { failover: "patroni", image: PATRONI_IMAGE }));
        await dr.up();
        leader = await standbyLeader(dr, [0, 1]);
    });
    after(async () => {
        await writer?.stop();
        await dr?.cleanup();
        await src.cleanup();
    });

    it("its standby leader streams from the source with verify-full (both CAs trusted), the other member cascades", async () => {
        const other = 1 - leader;
        await dr.until("dr's members streaming", () => dr.ready(0) && dr.ready(1), 60000);
        assert.match(await local(leader, "SELECT conninfo FROM pg_stat_wal_receiver", "postgres"), new RegExp(`host=${src.host(0).replace(/\./g, "\\.")}.*sslmode=verify-full`));
        assert.strictEqual(await local(leader, "SELECT status FROM pg_stat_wal_receiver", "postgres"), "streaming");
        assert.strictEqual(await local(other, "SELECT sender_host || ' ' || status FROM pg_stat_wal_receiver", "postgres"), `${dr.host(leader)} streaming`);
        assert.strictEqual(await role(other), "replica");
        src.sql(0, "INSERT INTO items VALUES (0, 'before')");
        await dr.until("the row on both dr members", () => dr.sql(other, "SELECT count(*) FROM items WHERE id = 0", { password: src.secret("app-password") }) === "1");
        const write = dr.psql(leader, "INSERT INTO items VALUES (-1, 'refused')", { password: src.secret("app-password") });
        assert.match(write.stderr, /read-only transaction/);
        assert.strictEqual(src.sql(0, "SELECT count(*) FROM pg_stat_replication WHERE application_name = 'dr-" + leader + "'", superuser), "1");
        // Labelled as Patroni labels them with the rendered values: the standby leader serves reads, and the
        // read-write Service has no endpoint while the cluster is a standby (as in the manual mode).
        // Patroni labels its pod in the API on its own loop (up to loopWait after the role changes) and the node
        // reports Ready within half a second: the endpoints settle within that, as a Service's would.
        const endpoints = labelledReadyEndpoints(dr, true);
        const want = { rw: [] as string[], ro: [dr.pod(0).address, dr.pod(1).address].sort() };
        let got = { rw: [] as string[], ro: [] as string[] };
        for (const deadline = Date.now() + 30000; Date.now() < deadline; await sleep(250)) {
            got = { rw: await endpoints("rw"), ro: (await endpoints("ro")).sort() };
            if (JSON.stringify(got) === JSON.stringify(want)) break;
        }
        assert.deepStrictEqual(got, want);
    });

    it("a changed source reaches the running standby leader (patroni-standby.json applied live, no restart)", async () => {
        const restarts = [0, 1].map((i) => dr.restarts(i));
        standby = { ...standby, sourceHosts: [src.host(1)] };
        const started = Date.now();
        await dr.apply({ standby });
        let receiver = "";
        for (const deadline = Date.now() + 120000; Date.now() < deadline && receiver !== `${src.host(1)} streaming`; await sleep(500)) {
            receiver = await local(leader, "SELECT sender_host || ' ' || status FROM pg_stat_wal_receiver", "postgres").catch(() => "");
        }
        assert.strictEqual(receiver, `${src.host(1)} streaming`, "the standby leader streams from src-1");
        console.log(`      source changed: ${Date.now() - started} ms from the applied config to streaming from src-1`);
        assert.strictEqual(JSON.parse((await patroniRequest(dr, leader, "/config")).text).standby_cluster.host, src.host(1));
        assert.deepStrictEqual([0, 1].map((i) => dr.restarts(i)), restarts, "no container restarted");
        src.sql(0, "INSERT INTO items VALUES (1, 'through src-1')");
        await dr.until("the row on the other member through src-1 and the standby leader", () => dr.sql(1 - leader, "SELECT count(*) FROM items WHERE id = 1", { password: src.secret("app-password") }) === "1", 60000);
    });

    it("the source killed under writes; promoted by the same config change (standby.enabled false), it keeps what it had and takes writes", async () => {
        writer = new AckedWriter(src.hosts([0, 1]), src.secret("app-password"), "items", acks);
        await src.until("writes going", () => writer!.acked().length > 30, 60000);
        await sleep(3000);
        await Promise.all([src.stop(0, "SIGKILL"), src.stop(1, "SIGKILL")]);
        await sleep(1000);
        const w = writer;
        writer = undefined;
        await w.stop();
        const acked = w.acked();
        const atKill = new Set((await local(leader, "SELECT id FROM items")).split("\n").filter(Boolean).map(Number));
        console.log(`      at the kill: ${acked.length} rows acknowledged by src, ${atKill.size - 1} on the standby leader, acknowledged but not there: ${acked.filter((i) => !atKill.has(i)).length}`);
        // The promotion is the same one config change as in the manual mode: patroni.sh sees standby-hosts empty
        // and removes standby_cluster from Patroni's dynamic configuration (patroni-standby.sh).
        const started = Date.now();
        await dr.apply({ standby: { ...standby, enabled: false } });
        await dr.until("the standby leader takes writes", () => dr.psql(leader, "SELECT pg_is_in_recovery()", superuser).stdout.trim() === "f", 120000);
        console.log(`      promotion: ${Date.now() - started} ms from the applied config to a writable leader`);
        const after = new Set((await local(leader, "SELECT id FROM items")).split("\n").filter(Boolean).map(Number));
        assert.deepStrictEqual([...atKill].filter((i) => !after.has(i)), []);
        assert.strictEqual(JSON.parse((await patroniRequest(dr, leader, "/config")).text).standby_cluster, undefined);
        // The callback applied dr's own Secret's application password after the promotion.
        await dr.until("dr's own app password works", () => dr.sql(leader, "SELECT 1") === "1", 60000);
        dr.sql(leader, "INSERT INTO items VALUES (1000000, 'after the promotion')");
        await dr.until("the new row on the other member", () => dr.sql(1 - leader, "SELECT count(*) FROM items WHERE id = 1000000") === "1", 120000);
        // Promoted, the leader is labelled primary: the read-write Service routes to it once it is ready.
        let rw: string[] = [];
        for (const deadline = Date.now() + 60000; Date.now() < deadline; await sleep(500)) {
            rw = await labelledReadyEndpoints(dr, true)("rw");
            if (rw.length > 0) break;
        }
        assert.deepStrictEqual(rw, [dr.pod(leader).address]);
    });

    it("a promoted cluster set to standby.enabled true again stays the primary and says why (its own writes are never rewound away)", async () => {
        await dr.apply({ standby: { ...standby, enabled: true } });
        const refusal = "ERROR: standby.enabled is true but this cluster was promoted";
        await dr.until("the leader's refusal in its log", () => fs.readFileSync(dr.logFile(leader), "utf8").includes(refusal), 90000);
        assert.strictEqual(dr.psql(leader, "SELECT pg_is_in_recovery()", superuser).stdout.trim(), "f");
        assert.strictEqual(JSON.parse((await patroniRequest(dr, leader, "/config")).text).standby_cluster, undefined);
        dr.sql(leader, "INSERT INTO items VALUES (1000001, 'still the primary')");
    });
});

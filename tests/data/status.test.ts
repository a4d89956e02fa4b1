/**
 * bin/replicated-db-status, the operator's one look at a cluster, run with the real kubectl against pods on the
 * harness node (tests/harness/kubectl.ts: the API server authorizes, the node's streaming server execs into the
 * container), as an identity holding only bin/operator-role.yaml: in both failover modes, its table and its
 * --json, and what that identity is refused.
 */
import * as assert from "assert";
import * as path from "path";
import { LABELER_CONTAINER } from "../../components/engines/postgres/topologies/manual/labeler";
import { ROLE_LABEL } from "../../components/naming";
import { Cluster, sleep } from "../harness/cluster";
import { Kubectl } from "../harness/kubectl";
import { PATRONI_IMAGE } from "../harness/patroni";
import { Sidecars } from "../harness/sidecars";

const STATUS = path.join(__dirname, "..", "..", "bin", "replicated-db-status");
const superuser = { user: "postgres", database: "postgres" };

async function status(k: Kubectl, ...args: string[]): Promise<{ code: number | null; out: string; stderr: string }> {
    const r = await k.run(STATUS, ["-n", "default", ...args, "db"]);
    return { code: r.code, out: r.stdout, stderr: r.stderr };
}

async function statusJson(k: Kubectl): Promise<any> {
    const r = await status(k, "--json");
    assert.strictEqual(r.code, 0, r.out + r.stderr);
    return JSON.parse(r.out);
}

/** The JSON's shape, the same in both modes: every key present, with its type. */
function assertShape(s: any, mode: string, pods: string[]): void {
    assert.deepStrictEqual(Object.keys(s), ["cluster", "namespace", "mode", "primary", "mostAdvancedReplica", "pods", "slots"]);
    assert.strictEqual(s.cluster, "db");
    assert.strictEqual(s.namespace, "default");
    assert.strictEqual(s.mode, mode);
    assert.deepStrictEqual(s.pods.map((p: any) => p.name), pods);
    for (const p of s.pods) {
        assert.deepStrictEqual(Object.keys(p), ["name", "ready", "role", "timeline", "receivedLsn", "replayedLsn", "replayPaused", "walReceiver", "lag", "slot", "checksumFailures", "patroni"]);
        assert.strictEqual(typeof p.ready, "boolean");
        assert.match(p.role, /^(primary|replica|unreachable)$/);
        assert.strictEqual(typeof p.timeline, "number");
        assert.match(p.receivedLsn, /^[0-9A-F]+\/[0-9A-F]+$/);
        assert.match(p.replayedLsn, /^[0-9A-F]+\/[0-9A-F]+$/);
        assert.deepStrictEqual(Object.keys(p.lag), ["receivedBytes", "replayedBytes", "receivedSeconds", "replayedSeconds", "syncState"]);
        assert.strictEqual(p.checksumFailures, 0);
        if (p.role === "replica") {
            assert.strictEqual(typeof p.lag.receivedBytes, "number");
            assert.strictEqual(typeof p.lag.replayedSeconds, "number");
            assert.deepStrictEqual(Object.keys(p.slot), ["name", "active", "retainedBytes", "walStatus"]);
            assert.strictEqual(p.slot.name, p.name.replace(/-/g, "_"));
            assert.strictEqual(typeof p.slot.retainedBytes, "number");
        }
    }
    for (const slot of s.slots) assert.deepStrictEqual(Object.keys(slot), ["name", "active", "retainedBytes", "walStatus"]);
}

/** Waits until the Service's EndpointSlices hold exactly `addresses` as ready. */
async function untilEndpoints(c: Cluster, service: "rw" | "ro", addresses: string[], timeoutMs = 30000): Promise<void> {
    const want = [...addresses].sort();
    const deadline = Date.now() + timeoutMs;
    let got: string[] = [];
    while (JSON.stringify((got = await c.apiEndpoints(service))) !== JSON.stringify(want)) {
        if (Date.now() > deadline) throw new Error(`${service} endpoints ${got.join(",")}, expected ${want.join(",")}`);
        await sleep(200);
    }
}

describe("replicated-db-status (manual failover)", function () {
    this.timeout(180000);
    const c = new Cluster({ args: { replicas: 2 }, onNode: true });
    const labelers = new Sidecars(c, LABELER_CONTAINER);
    let k: Kubectl;

    before(async () => {
        await c.up();
        // The role-labeler sidecar of each pod, as rendered: Debian's dash and curl for the image's.
        labelers.startAll();
        k = await Kubectl.create(c);
    });
    after(async () => {
        labelers.stop();
        await c.cleanup();
    });

    it("each pod's role-labeler labels it through the API with its pod's token; the Services' EndpointSlices follow the labels", async () => {
        await untilEndpoints(c, "rw", [c.pod(0).address]);
        await untilEndpoints(c, "ro", [c.pod(1).address, c.pod(2).address]);
        for (const i of [0, 1, 2]) {
            const pod = await c.apiPod(i);
            assert.strictEqual(pod.metadata.labels[ROLE_LABEL], i === 0 ? "primary" : "replica");
            // Set by the sidecar's own merge patch (curl), not by the harness.
            const managers = (pod.metadata.managedFields as any[]).filter((f) => JSON.stringify(f.fieldsV1 ?? {}).includes(ROLE_LABEL)).map((f) => f.manager.split("/")[0]);
            assert.deepStrictEqual(managers, ["curl"]);
        }
    });

    it("names the replica that has replayed the most when they have received the same", async () => {
        c.sql(2, "SELECT pg_wal_replay_pause()", superuser);
        try {
            await pausedReplica();
        } finally {
            c.sql(2, "SELECT pg_wal_replay_resume()", superuser);
        }
    });

    async function pausedReplica(): Promise<void> {
        c.sql(0, "CREATE TABLE t AS SELECT g FROM generate_series(1, 1000) g");
        await c.until("replica 1 to replay the table", () => c.sql(1, "SELECT count(*) FROM t") === "1000");
        const lsn = c.sql(0, "SELECT pg_current_wal_lsn()", superuser);
        await c.until("replica 2 to receive it", () => c.sql(2, `SELECT pg_last_wal_receive_lsn() >= '${lsn}'`, superuser) === "t");
        const r = await status(k);
        assert.strictEqual(r.code, 0, r.out + r.stderr);
        assert.match(r.out, /^db-0 +True +primary +1 /m);
        assert.match(r.out, /^db-1 +True +replica +1 /m);
        assert.match(r.out, /^db-2 +True +replica\(paused\) +1 /m);
        assert.match(r.out, /most advanced replica: db-1$/m);
        // The paused replica is behind in what it replayed, by the table's WAL at least, and its slot is active.
        const s = await statusJson(k);
        assertShape(s, "manual", ["db-0", "db-1", "db-2"]);
        const [p0, p1, p2] = s.pods;
        assert.strictEqual(s.primary, "db-0");
        assert.strictEqual(s.mostAdvancedReplica, "db-1");
        assert.strictEqual(p0.slot, null);
        assert.strictEqual(p0.patroni, null);
        assert.strictEqual(p2.replayPaused, true);
        assert.ok(p2.lag.replayedBytes > 8192, JSON.stringify(p2));
        assert.ok(p2.lag.replayedBytes > p1.lag.replayedBytes, JSON.stringify(s.pods));
        assert.strictEqual(p1.walReceiver, "streaming");
        assert.strictEqual(p1.slot.active, true);
        assert.deepStrictEqual(s.slots.map((x: any) => x.name), ["db_1", "db_2"]);
        // initdb --data-checksums: every copy of the cluster checks its pages.
        for (const i of [0, 1, 2]) assert.strictEqual(c.sql(i, "SHOW data_checksums", superuser), "on");
    }

    it("names the other replica when the first is down; the stopped one is not ready, unreachable, its slot inactive and retaining WAL", async () => {
        await c.pod(1).stop("SIGINT");
        c.sql(0, "INSERT INTO t SELECT g FROM generate_series(1, 100000) g");
        await c.until("replica 2 to replay", () => c.sql(2, "SELECT count(*) FROM t") === "101000");
        const r = await status(k);
        assert.match(r.out, /most advanced replica: db-2$/m);
        // Not ready: out of the read-only Service's EndpointSlices.
        await untilEndpoints(c, "ro", [c.pod(2).address]);
        const s = await statusJson(k);
        const p1 = s.pods.find((p: any) => p.name === "db-1");
        assert.deepStrictEqual([p1.ready, p1.role, p1.receivedLsn, p1.slot.active], [false, "unreachable", null, false]);
        assert.match(r.out, /^db-1 +False +unreachable /m);
        const slot = s.slots.find((x: any) => x.name === "db_1");
        assert.strictEqual(slot.active, false);
        assert.ok(slot.retainedBytes > 1000000, JSON.stringify(slot));
        assert.strictEqual(s.mostAdvancedReplica, "db-2");
        c.start(1);
        await c.waitReady(1);
    });

    it("runs with the real kubectl as an identity holding only bin/operator-role.yaml: exec reaches the container as its user; secrets, deletions and other pods' logs are refused", async () => {
        // Through the API server and the node's streaming server into db-0's container: its user, its env.
        const id = await k.kubectl("exec", "-n", "default", "db-0", "-c", "postgres", "--", "bash", "-c", 'echo "$(id -u) $POD_NAME $PGDATA"; exit 3');
        assert.strictEqual(id.code, 3, id.stderr);
        const [uid, host, pgdata] = id.stdout.trim().split(" ");
        assert.strictEqual(uid, String(c.objects.statefulSet.spec.template.spec.securityContext.runAsUser));
        assert.strictEqual(host, "db-0");
        assert.ok(pgdata.length > 1, id.stdout);
        // stdin passes through (verify's SQL goes this way).
        const echoed = await k.run("bash", ["-c", "printf 'select 41 + 1' | kubectl exec -i -n default db-0 -c postgres -- bash -c 'cat'"]);
        assert.strictEqual(echoed.stdout, "select 41 + 1", echoed.stderr);
        // What the Role does not grant, the API refuses.
        for (const args of [["get", "secrets", "-n", "default"], ["delete", "pod", "db-2", "-n", "default", "--wait=false"], ["logs", "db-0", "-n", "default"], ["get", "pods", "-n", "kube-system"]]) {
            const r = await k.kubectl(...args);
            assert.notStrictEqual(r.code, 0, `kubectl ${args.join(" ")} was allowed: ${r.stdout}`);
            assert.match(r.stderr, /Forbidden|forbidden/, `kubectl ${args.join(" ")}: ${r.stderr}`);
        }
        assert.ok(await c.apiPod(2), "db-2 is still there");
        // A container that does not run cannot be exec'd into, as on a kubelet.
        await c.pod(2).stop("SIGINT");
        try {
            const r = await k.kubectl("exec", "-n", "default", "db-2", "-c", "postgres", "--", "true");
            assert.notStrictEqual(r.code, 0);
            assert.match(r.stderr, /container not found/, r.stderr);
        } finally {
            c.start(2);
            await c.waitReady(2);
        }
    });

    it("exits 2 with a clear message when kubectl cannot list the pods, and on an unknown option", async () => {
        const none = await k.run(STATUS, ["-n", "default", "other"]);
        assert.strictEqual(none.code, 2);
        assert.match(none.stderr, /unexpected selector|no pod of other/);
        const bad = await k.run(STATUS, ["--bogus", "db"]);
        assert.strictEqual(bad.code, 2);
        assert.match(bad.stderr, /unknown option '--bogus'/);
    });
});

describe("replicated-db-status (failover: patroni)", function () {
    this.timeout(300000);
    const c = new Cluster({ args: { replicas: 2, failover: "patroni", image: PATRONI_IMAGE } });
    let k: Kubectl;

    before(async () => {
        await c.up();
        k = await Kubectl.create(c);
    });
    after(() => c.cleanup());

    it("shows Patroni's view of every member beside the servers', in the table and the JSON", async () => {
        let s: any;
        const deadline = Date.now() + 60000;
        for (;;) {
            s = await statusJson(k);
            const streaming = s.pods.filter((p: any) => p.walReceiver === "streaming").length;
            if ((s.primary && streaming === 2 && s.pods.every((p: any) => p.patroni && p.slot !== undefined)) || Date.now() > deadline) break;
            await new Promise((r) => setTimeout(r, 1000));
        }
        assertShape(s, "patroni", ["db-0", "db-1", "db-2"]);
        const leader = s.pods.find((p: any) => p.role === "primary");
        assert.strictEqual(leader.name, s.primary);
        assert.strictEqual(leader.patroni.role, "Leader");
        for (const p of s.pods.filter((x: any) => x.role === "replica")) {
            assert.strictEqual(p.patroni.role, "Replica");
            assert.match(p.patroni.state, /^(running|streaming)$/);
            assert.strictEqual(p.patroni.timeline, p.timeline);
            assert.strictEqual(p.slot.name, p.name.replace(/-/g, "_"));
            assert.strictEqual(p.slot.active, true);
        }
        const r = await status(k);
        assert.strictEqual(r.code, 0, r.out + r.stderr);
        assert.match(r.out, new RegExp(`^${s.primary} +True +primary +1 .* Leader running 1`, "m"));
        // Patroni's bootstrap.initdb asks for data checksums too.
        for (const i of [0, 1, 2]) assert.strictEqual(c.sql(i, "SHOW data_checksums", superuser), "on");
    });
});

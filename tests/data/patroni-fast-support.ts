/** What the fast-timing Patroni tests (patroni-fast.test.ts, patroni-store-pause.test.ts) share. */
import * as assert from "assert";
import { Cluster, sleep } from "../harness/cluster";
import { PATRONI_IMAGE } from "../harness/patroni";
import { podProcesses } from "../harness/pause";
import { RoleSample, RoleSampler } from "../harness/roles";
import { procStat } from "../harness/proc";
import { AckedWriter, missingAcked } from "../harness/writer";
import { FAST_TIMING } from "../../components/engines/postgres/topologies/patroni/resolve";

export const ORDINALS = [0, 1, 2];
export const SUPERUSER = { user: "postgres", database: "postgres" };
/** Two pods out of recovery within this of each other (by their own clocks) count as two primaries. */
export const OVERLAP_WINDOW_MS = 100;

/** A primary, two replicas, strict synchronous mode with one standby, and the fast timings; `synchronousReplicas: 0`
 * for asynchronous replication, `storeProxies` for a path to the API server per pod that a test can cut. */
export function fastCluster(options: { synchronousReplicas?: number; storeProxies?: boolean } = {}): Cluster {
    return new Cluster({
        args: { replicas: 2, synchronousReplicas: options.synchronousReplicas ?? 1, failover: "patroni", image: PATRONI_IMAGE, patroni: { ...FAST_TIMING } },
        storeProxies: options.storeProxies ?? false,
    });
}

/** The pods whose server answers out of recovery now (over the pod's socket, as postgres). */
export function writable(c: Cluster): number[] {
    return ORDINALS.filter((i) => c.pod(i).running && c.psql(i, "SELECT pg_is_in_recovery()", SUPERUSER).stdout.trim() === "f");
}

/** One primary that every other pod streams from. */
export function settled(c: Cluster): boolean {
    const w = writable(c);
    if (w.length !== 1) return false;
    const streaming = c.sql(w[0], "SELECT string_agg(application_name, ',' ORDER BY application_name) FROM pg_stat_replication WHERE state = 'streaming'", SUPERUSER);
    return streaming === ORDINALS.filter((i) => i !== w[0]).map((i) => `db-${i}`).join(",");
}

export { untilSyncStandby } from "../harness/patroniApi";

/** After a disturbance: one primary taking the writer's rows again with every other pod streaming, still so two
 * loops later (a demoted primary may stream for a moment before Patroni rewinds it). */
export async function settleUnderWrites(c: Cluster, writer: AckedWriter, count: number, loopWaitSeconds: number): Promise<void> {
    await c.until("one primary, every other pod streaming, taking writes", () => settled(c) && writer.acked().length > count + 30, 180000);
    await sleep(2 * loopWaitSeconds * 1000);
    assert.ok(settled(c), "settled for two loops");
}

/** The pairs of samples with two writable pods within OVERLAP_WINDOW_MS of each other. */
export function twoWritable(samples: RoleSample[]): [RoleSample, RoleSample][] {
    return RoleSampler.overlaps(samples, OVERLAP_WINDOW_MS);
}

/** Fails naming the first pairs when any two pods were writable at once. */
export function assertNeverTwoWritable(two: [RoleSample, RoleSample][]): void {
    assert.deepStrictEqual(two.slice(0, 5).map(([a, b]) => `db-${a.ordinal}@${a.atMs} db-${b.ordinal}@${b.atMs}`), [], `${two.length} overlapping pairs`);
}

/** Milliseconds from `fromMs` until the writer has more than `count` acknowledged rows (polled every 50 ms). */
export async function firstAckAfter(writer: AckedWriter, count: number, fromMs: number, timeoutMs = 120000): Promise<number> {
    const deadline = fromMs + timeoutMs;
    for (;;) {
        if (writer.acked().length > count) return Date.now() - fromMs;
        if (Date.now() > deadline) throw new Error(`no write acknowledged within ${timeoutMs / 1000} s`);
        await sleep(50);
    }
}

/** How many of the rows the writer had acknowledged the primary does not have. */
export function missingRows(c: Cluster, primary: number, table: string, acked: number[]): number {
    return missingAcked((q) => c.sql(primary, q), table, acked).length;
}

/** The pod's postmaster: its postgres process whose parent is not a postgres process. */
export function postmasterPid(c: Cluster, ordinal: number): number {
    const pids = podProcesses(c.pod(ordinal), "postgres").map((p) => p.pid);
    // A backend can exit between the listing and this read (the writers connect and disconnect all the time):
    // a process that is gone is no postmaster.
    const found = pids.filter((pid) => {
        const ppid = procStat(pid)?.ppid;
        return ppid !== undefined && !pids.includes(ppid);
    });
    if (found.length !== 1) throw new Error(`db-${ordinal}: expected one postmaster, found ${found.length}`);
    return found[0];
}

/** The process that answers Patroni's store calls: the kube-apiserver of the harness's node. */
export function storePid(c: Cluster): number {
    if (!c.node) throw new Error("the cluster has no node (a render without Patroni?)");
    return c.node.cp.pid("kube-apiserver");
}

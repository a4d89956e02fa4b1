/**
 * Benchmark: failover on real servers (the data-plane harness), manual and automated, async and sync.
 * Prints, per mode, the time from the primary's SIGKILL to the first write a client gets acknowledged by
 * the new primary, and the acknowledged rows the new primary does not have.
 *
 *   npm run bench:failover      (as root; BENCH_RUNS=3, BENCH_MODES=Patroni for a subset; BENCH_QUICK=1: one run per mode)
 *
 * Progress on stderr; raw figures as JSON in bench/results (compare two runs with bench/compare.ts).
 *
 * Each run is a fresh cluster of a primary and two replicas with a client that follows the primary (libpq
 * multi-host, target_session_attrs=read-write, as through the read-write Service) and inserts one row
 * per transaction, recording each acknowledged id.
 * - manual: the operator step is done at once by the script: pick the replica that received most WAL
 *   (what bin/replicated-db-status prints) and apply primaryOrdinal. On a cluster, add the operator's
 *   reaction and the kubelet's ConfigMap refresh (up to about a minute) to the figure.
 * - automated: Patroni at the image's release (4.1.4, tools/patroni/install.sh) with the Kubernetes API as its
 *   store (the harness's control plane, as in tests/data/patroni.test.ts); nobody acts. Patroni's default
 *   timings (ttl 30, loop_wait 10) and the fast choice (`patroni: FAST_TIMING`: 20, 2, retry_timeout 5). In
 *   synchronous mode the kill waits until Patroni has named a synchronous standby (strict mode promotes
 *   nobody before that; tests/data/patroni-load.test.ts).
 * - death "node": the primary's whole pod SIGKILLed (Patroni with it: its lock must expire); "postgres": only
 *   the primary's postmaster SIGKILLed while Patroni lives (noticed within one loop_wait, restarted in place).
 *
 *   BENCH_MODES=fast runs only the fast-timing rows.
 */
import * as path from "path";
import * as fs from "fs";
import { PatroniArgs, ReplicatedDatabaseArgs } from "../components/args";
import { FAST_TIMING } from "../components/engines/postgres/topologies/patroni/resolve";
import { Cluster, sleep } from "../tests/harness/cluster";
import { PATRONI_IMAGE } from "../tests/harness/patroni";
import { podProcesses } from "../tests/harness/pause";
import { untilSyncStandby } from "../tests/harness/patroniApi";
import { AckedWriter } from "../tests/harness/writer";
import { benchSettings, machineLine, Progress, Results } from "./report";
import { median } from "./stats";

const settings = benchSettings({ scale: 1, runs: 3, seconds: 1 });
const RUNS = settings.runs;
const ORDINALS = [0, 1, 2];
const superuser = { user: "postgres", database: "postgres" };

interface Run {
    /** From the SIGKILL to the first acknowledged write on the new primary. */
    toFirstWriteMs: number;
    /** From the config change (manual only) to the first acknowledged write. */
    fromChangeMs?: number;
    acked: number;
    lost: number;
}

interface Mode {
    name: string;
    automated: boolean;
    synchronousReplicas: number;
    /** Patroni's timings (the `patroni` arg); Patroni's defaults when unset. */
    timing?: PatroniArgs;
    /** What dies: the primary's whole pod (default), or only its postmaster (Patroni lives). */
    death?: "node" | "postgres";
}

const ALL_MODES: Mode[] = [
    { name: "manual (primaryOrdinal), async", automated: false, synchronousReplicas: 0 },
    { name: "manual (primaryOrdinal), sync ANY 1", automated: false, synchronousReplicas: 1 },
    { name: "automated (Patroni), async", automated: true, synchronousReplicas: 0 },
    { name: "automated (Patroni), sync 1", automated: true, synchronousReplicas: 1 },
    { name: "automated (Patroni, fast timing), async, node loss", automated: true, synchronousReplicas: 0, timing: FAST_TIMING },
    { name: "automated (Patroni, fast timing), sync 1, node loss", automated: true, synchronousReplicas: 1, timing: FAST_TIMING },
    { name: "automated (Patroni, fast timing), async, postgres death", automated: true, synchronousReplicas: 0, timing: FAST_TIMING, death: "postgres" },
    { name: "automated (Patroni, fast timing), sync 1, postgres death", automated: true, synchronousReplicas: 1, timing: FAST_TIMING, death: "postgres" },
];
/** BENCH_MODES=Patroni runs only the modes whose name contains it. */
const MODES = ALL_MODES.filter((m) => m.name.includes(process.env.BENCH_MODES ?? ""));

function writable(c: Cluster): number[] {
    return ORDINALS.filter((i) => c.pod(i).running && c.psql(i, "SELECT pg_is_in_recovery()", superuser).stdout.trim() === "f");
}

/** The pod's postmaster: its postgres process whose parent is not a postgres process. */
function postmasterPid(c: Cluster, ordinal: number): number {
    const pids = podProcesses(c.pod(ordinal), "postgres").map((p) => p.pid);
    const parent = (pid: number) => Number(fs.readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ")[1]);
    const found = pids.filter((pid) => !pids.includes(parent(pid)));
    if (found.length !== 1) throw new Error(`db-${ordinal}: expected one postmaster, found ${found.length}`);
    return found[0];
}

/** The replica that received most WAL: the operator's choice before a manual failover. */
function mostAdvanced(c: Cluster, candidates: number[]): number {
    const received = (i: number) => BigInt(c.sql(i, "SELECT pg_last_wal_receive_lsn() - '0/0'", superuser));
    return candidates.reduce((best, i) => (received(i) > received(best) ? i : best));
}

async function once(mode: Mode, run: number): Promise<Run> {
    const args: ReplicatedDatabaseArgs = { replicas: 2, synchronousReplicas: mode.synchronousReplicas };
    if (mode.automated) Object.assign(args, { failover: "patroni", image: PATRONI_IMAGE, ...(mode.timing ? { patroni: { ...mode.timing } } : {}) });
    const c = new Cluster({ args, restartExited: !mode.automated });
    try {
        await c.up();
        await c.until("one writable pod", () => writable(c).length === 1, 120000);
        const primary = writable(c)[0];
        await c.until("both replicas streaming", () => c.sql(primary, "SELECT count(*) FROM pg_stat_replication WHERE state = 'streaming'", superuser) === "2", 120000);
        c.sql(primary, "CREATE TABLE items (id bigint PRIMARY KEY, note text NOT NULL)");
        const writer = new AckedWriter(c.hosts(ORDINALS), c.secret("app-password"), "items", path.join(c.base, `acks-${run}`));
        let result: Run;
        try {
            await c.until("the writer to get going", () => writer.acked().length > 100);
            if (mode.automated && mode.synchronousReplicas > 0) await untilSyncStandby(c, primary);
            const killedAt = Date.now();
            let ackedAtKill: number;
            if (mode.death === "postgres") process.kill(postmasterPid(c, primary), "SIGKILL");
            else await c.stop(primary, "SIGKILL");
            // A commit acknowledged just before the kill may reach the acks file a moment later (seen: 54 ms);
            // no server takes writes again within 200 ms of a kill.
            await sleep(200);
            ackedAtKill = writer.acked().length;
            let changedAt: number | undefined;
            if (!mode.automated) {
                const survivors = ORDINALS.filter((i) => i !== primary);
                const chosen = mostAdvanced(c, survivors);
                changedAt = Date.now();
                await c.apply({ primaryOrdinal: chosen });
            }
            let firstAt = 0;
            const deadline = Date.now() + 180000;
            while (!firstAt) {
                if (writer.acked().length > ackedAtKill) firstAt = Date.now();
                else if (Date.now() > deadline) throw new Error(`${mode.name}: no write acknowledged within 180 s of the kill`);
                else await sleep(50);
            }
            // The writer's ack is the new primary's; the count of writable pods may lag a moment behind
            // (a pod's own check runs over a fresh connection).
            await c.until(`${mode.name}: exactly one writable pod after the failover`, () => writable(c).length === 1, 60000);
            const now = writable(c);
            const acked = writer.acked();
            await writer.stop();
            const lost = Number(
                c.sql(now[0], `SELECT count(*) FROM unnest(ARRAY[${acked.join(",")}]::bigint[]) a WHERE NOT EXISTS (SELECT 1 FROM items WHERE id = a)`),
            );
            result = {
                toFirstWriteMs: firstAt - killedAt,
                fromChangeMs: changedAt === undefined ? undefined : firstAt - changedAt,
                acked: acked.length,
                lost,
            };
        } finally {
            await writer.stop();
        }
        return result;
    } finally {
        await c.cleanup();
    }
}

const seconds = (xs: number[]) => `${(median(xs) / 1000).toFixed(1)} (${(Math.min(...xs) / 1000).toFixed(1)}-${(Math.max(...xs) / 1000).toFixed(1)})`;

async function main(): Promise<void> {
    if (process.getuid?.() !== 0) throw new Error("run as root: the harness gives each pod a mount namespace");
    const rows: string[] = [];
    const results = new Results("failover", settings);
    const progress = new Progress("failover", MODES.length * RUNS);
    for (const mode of MODES) {
        const runs: Run[] = [];
        for (let run = 0; run < RUNS; run++) {
            progress.step(`${mode.name}: run ${run + 1}/${RUNS}`);
            const r = await once(mode, run);
            process.stderr.write(`${mode.name}, run ${run + 1}: ${JSON.stringify(r)}\n`);
            runs.push(r);
        }
        const fromChange = runs.map((r) => r.fromChangeMs).filter((x): x is number => x !== undefined);
        const key = mode.name.replace(/[^A-Za-z0-9]+/g, "-").replace(/^-|-$/g, "");
        results.add(`${key}.toFirstWrite`, "ms", runs.map((r) => r.toFirstWriteMs));
        if (fromChange.length) results.add(`${key}.fromChange`, "ms", fromChange);
        results.add(`${key}.lost`, "rows", runs.map((r) => r.lost));
        rows.push(
            `| ${mode.name} | ${seconds(runs.map((r) => r.toFirstWriteMs))} | ${fromChange.length ? seconds(fromChange) : "n/a"} | ` +
                `${runs.map((r) => r.lost).join(", ")} of ${runs.map((r) => r.acked).join(", ")} |`,
        );
    }
    const json = results.write();
    console.log(machineLine());
    console.log(`Failover on ${RUNS} fresh clusters per mode (primary + 2 replicas, SIGKILL of the primary's pod, or of its postmaster only, under a one-row-per-commit client):\n`);
    console.log("| mode | kill to first acknowledged write, s: median (min-max) | config change to first write, s | acknowledged rows lost, per run |");
    console.log("|---|---|---|---|");
    for (const row of rows) console.log(row);
    console.log(`\nraw figures: ${path.relative(process.cwd(), json)}`);
}

main().catch((err) => {
    console.error(err);
    process.exit(1);
});

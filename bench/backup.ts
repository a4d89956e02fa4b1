/**
 * Benchmark: what backups cost and how fast they are, on real servers started by the component's own scripts
 * (the data-plane harness) with pgBackRest and a "volume" repository on the same disk. Prints one table from
 * one run, figures side by side.
 *
 *   npm run bench:backup      (as root; BENCH_SCALE=50 BENCH_RUNS=3 BENCH_SECONDS=15; BENCH_QUICK=1 for a smoke run)
 *
 * - full backup of a pgbench database of scale BENCH_SCALE (zst, the default, and lz4; process-max 2) against
 *   `cp -a` of the same data directory on the same disk (the goal: within 1.5x);
 * - restore of each backup into an empty directory against `cp -a` of the data directory;
 * - archive lag under a pgbench write load: from the moment a WAL segment is complete (the server makes its
 *   `.ready` file) to the moment its file is whole in the repository, and to `.done`, seen by a watcher in a
 *   process of its own (bench/archive-watch.ts, inotify);
 * - primary throughput with archiving on and off (archive_mode, a restart between), runs interleaved.
 * Progress on stderr; raw figures as JSON in bench/results (compare two runs with bench/compare.ts).
 */
import { fork, spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { BACKUP_IMAGE } from "../tests/harness/backup";
import { ArchiveEvent, pairArchiveEvents } from "./archive-watch";
import { median, percentile, pgbench, pgbenchBackground, spread, tpsOf } from "./stats";
import { benchSettings, machineLine, Progress, Results } from "./report";
import { Cluster, sleep } from "../tests/harness/cluster";
import { PG_BIN } from "../tests/harness/pod";

const { scale: SCALE, runs: RUNS, seconds: SECONDS, quick } = benchSettings({ scale: 50, runs: 3, seconds: 15 });
const results = new Results("backup", { scale: SCALE, runs: RUNS, seconds: SECONDS, quick });
// empty backups, loading, backup and restore runs, archive lag, throughput runs
const progress = new Progress("backup", 1 + 1 + RUNS + 1 + RUNS);
const SU = { user: "postgres", database: "postgres" };
/** Inside the pod: a directory on its data volume, beside the data directory. */
const RESTORE_DIR = "/var/lib/postgresql/data/bench-restore";

async function timed(what: string, run: () => Promise<{ status: number | null; stderr: string }>): Promise<number> {
    spawnSync("sync");
    const t0 = Date.now();
    const r = await run();
    spawnSync("sync");
    if (r.status !== 0) throw new Error(`${what} failed: ${r.stderr}`);
    return (Date.now() - t0) / 1000;
}

/** cp -a of the pod's data directory on the same disk, seconds. */
function copySeconds(c: Cluster): number {
    const target = path.join(c.base, "copy");
    fs.rmSync(target, { recursive: true, force: true });
    spawnSync("sync");
    const t0 = Date.now();
    const r = spawnSync("cp", ["-a", path.join(c.pod(0).dataDir, "pgdata"), target]);
    spawnSync("sync");
    const s = (Date.now() - t0) / 1000;
    if (r.status !== 0) throw new Error(`cp failed: ${r.stderr}`);
    fs.rmSync(target, { recursive: true, force: true });
    return s;
}

function duMiB(dir: string): number {
    return Number(spawnSync("du", ["-sm", dir], { encoding: "utf8" }).stdout.split("\t")[0]);
}

/** The repository's `archive` directory on the claim (under repositoryPath, whatever it is), made by stanza-create. */
function repositoryArchiveDir(claim: string, depth = 3): string {
    const look = (dir: string, left: number): string | undefined => {
        for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
            if (!e.isDirectory()) continue;
            const full = path.join(dir, e.name);
            // archive/<stanza>/archive.info: the repository's archive, not a directory of that name in a backup.
            if (e.name === "archive" && fs.readdirSync(full).some((stanza) => fs.existsSync(path.join(full, stanza, "archive.info")))) return full;
            if (left > 0) {
                const found = look(full, left - 1);
                if (found) return found;
            }
        }
        return undefined;
    };
    const found = look(claim, depth);
    if (!found) throw new Error(`no pgBackRest archive directory under ${claim}`);
    return found;
}

/**
 * Archive lag under a pgbench write load, from a sampler in a process of its own (bench/archive-watch.ts):
 * nothing here can hold it up, and this process only awaits meanwhile (pgbench in the background).
 */
async function archiveLag(c: Cluster): Promise<ReturnType<typeof pairArchiveEvents>> {
    const log = path.join(c.base, "archive-events.jsonl");
    const statusDir = path.join(c.pod(0).dataDir, "pgdata", "pg_wal", "archive_status");
    const repoDir = repositoryArchiveDir(path.join(c.base, "claims", "db-backups"));
    const watcher = fork(path.join(__dirname, "archive-watch.ts"), [log, statusDir, repoDir], { execArgv: ["-r", "ts-node/register/transpile-only"], stdio: ["ignore", "inherit", "inherit", "ipc"] });
    try {
        await new Promise<void>((resolve, reject) => {
            watcher.once("message", () => resolve());
            watcher.once("exit", (code) => reject(new Error(`the archive watcher exited ${code}`)));
        });
        await pgbenchBackground(c, ["-N", "-c", "4", "-j", "2", "-T", String(SECONDS * 2)]).output;
        // The last segment closed, so that even a short load completes one; then time for the pushes to end.
        c.sql(0, "SELECT pg_switch_wal()", SU);
        await sleep(15000);
    } finally {
        watcher.kill("SIGTERM");
    }
    const text = fs.existsSync(log) ? fs.readFileSync(log, "utf8") : "";
    return pairArchiveEvents(text.split("\n").filter(Boolean).map((l) => JSON.parse(l) as ArchiveEvent));
}

async function setArchiving(c: Cluster, on: boolean): Promise<void> {
    c.sql(0, on ? "ALTER SYSTEM RESET archive_mode" : "ALTER SYSTEM SET archive_mode = off", SU);
    await c.restart(0, "SIGINT");
    await c.waitReady(0);
    const mode = c.sql(0, "SHOW archive_mode", SU);
    if (mode !== (on ? "on" : "off")) throw new Error(`archive_mode is ${mode}`);
}

async function main(): Promise<void> {
    if (process.getuid?.() !== 0) throw new Error("run as root (the harness needs mount namespaces)");
    const c = new Cluster({
        args: {
            replicas: 0,
            image: BACKUP_IMAGE,
            resources: { cpuRequest: "500m", memoryRequest: "512Mi", memoryLimit: "1Gi" },
            parameters: { max_wal_size: "2GB", checkpoint_timeout: "5min" },
            backup: { enabled: true, repositoryType: "volume", retentionFull: RUNS + 1 },
        },
    });
    try {
        await c.up();
        const stanza = await c.exec(0, ["pgbackrest", "stanza-create"]);
        if (stanza.status !== 0) throw new Error(stanza.stderr);
        // What every backup costs whatever the size: the checkpoint, the manifest, the wait for the last WAL.
        progress.step(`full backups of the empty database (${RUNS})`);
        const empty: number[] = [];
        for (let run = 0; run < RUNS; run++) empty.push(await timed("backup", () => c.exec(0, ["pgbackrest", "backup", "--type=full"], 3600000)));
        progress.step(`loading pgbench scale ${SCALE}`);
        pgbench(c, ["-i", "-q", "-s", String(SCALE)]);
        const bytes = Number(c.sql(0, "SELECT sum(pg_database_size(datname)) FROM pg_database", SU));
        // The rendered compression (zst) and the fastest one pgBackRest has (lz4), interleaved.
        const backup: Record<string, number[]> = { zst: [], lz4: [] };
        const restore: Record<string, number[]> = { zst: [], lz4: [] };
        const copy: number[] = [];
        for (let run = 0; run < RUNS; run++) {
            progress.step(`backup and restore: run ${run + 1}/${RUNS}, zst and lz4, cp -a`);
            for (const type of Object.keys(backup)) {
                backup[type].push(await timed("backup", () => c.exec(0, ["pgbackrest", "backup", "--type=full", `--compress-type=${type}`], 3600000)));
                await c.exec(0, ["rm", "-rf", RESTORE_DIR]);
                await c.exec(0, ["mkdir", "-m", "0700", RESTORE_DIR]);
                restore[type].push(await timed("restore", () => c.exec(0, ["pgbackrest", "restore", `--pg1-path=${RESTORE_DIR}`, "--type=immediate"], 3600000)));
                await c.exec(0, ["rm", "-rf", RESTORE_DIR]);
            }
            copy.push(copySeconds(c));
        }
        const repoMiB = duMiB(path.join(c.base, "claims", "db-backups"));
        const logBefore = fs.readFileSync(c.logFile(0), "utf8").length;
        progress.step("archive lag under a write load");
        const lags = await archiveLag(c);
        // pgBackRest's own duration of each push during the load ("completed successfully (26ms)").
        const pushes = [...fs.readFileSync(c.logFile(0), "utf8").slice(logBefore).matchAll(/archive-push command end: completed successfully \(([0-9]+)ms\)/g)].map((m) => Number(m[1]));
        const tps = { on: [] as number[], off: [] as number[] };
        const run = () => tpsOf(pgbench(c, ["-N", "-c", "4", "-j", "2", "-T", String(SECONDS)]));
        for (let r = 0; r < RUNS; r++) {
            progress.step(`throughput: run ${r + 1}/${RUNS}, archiving on and off`);
            tps.on.push(run());
            await setArchiving(c, false);
            tps.off.push(run());
            await setArchiving(c, true);
        }

        results.add("backup.empty", "s", empty);
        for (const type of Object.keys(backup)) {
            results.add(`backup.${type}`, "s", backup[type]);
            results.add(`restore.${type}`, "s", restore[type]);
        }
        results.add("copy", "s", copy);
        results.add("repository", "MiB", [repoMiB]);
        results.add("archiveLag", "ms", lags.toRepository);
        results.add("archiveDone", "ms", lags.toDone);
        results.add("archivePush", "ms", pushes);
        results.add("tps.archivingOff", "tps", tps.off);
        results.add("tps.archivingOn", "tps", tps.on);
        const json = results.write();
        console.log(machineLine());
        console.log(
            `${spawnSync(path.join(PG_BIN, "postgres"), ["--version"], { encoding: "utf8" }).stdout.trim()}, ` +
                `${spawnSync("pgbackrest", ["version"], { encoding: "utf8" }).stdout.trim()}; pgbench scale ${SCALE} ` +
                `(${(bytes / 2 ** 20).toFixed(0)} MiB); repository on the same disk, zst, process-max 2; ${RUNS} runs; ` +
                `pgbench -N -c 4 for ${SECONDS} s per throughput run${quick ? "; QUICK run (a smoke test, not a measurement)" : ""}\n`,
        );
        console.log("| figure | median (min-max) | ratio |");
        console.log("|---|---|---|");
        console.log(`| full backup of the empty database (the fixed cost), s | ${spread(empty)} | |`);
        for (const type of Object.keys(backup)) {
            console.log(`| full backup, ${type}${type === "zst" ? " (the default)" : ""}, s | ${spread(backup[type])} | ${(median(backup[type]) / median(copy)).toFixed(2)}x cp -a |`);
            console.log(`| restore of that backup, ${type}, s | ${spread(restore[type])} | ${(median(restore[type]) / median(copy)).toFixed(2)}x cp -a |`);
        }
        console.log(`| cp -a of the data directory, s | ${spread(copy)} | 1 |`);
        console.log(`| repository after ${2 * RUNS} full backups (retention ${RUNS + 1}), MiB | ${repoMiB} | ${(repoMiB / (RUNS + 1) / (bytes / 2 ** 20)).toFixed(2)}x the database per kept backup |`);
        const p = (xs: number[]) => (xs.length ? `${percentile(xs, 50).toFixed(0)} / ${percentile(xs, 95).toFixed(0)} / ${Math.max(...xs).toFixed(0)}` : "none");
        console.log(`| archive lag under write load (segment complete, its .ready made, to its file whole in the repository), p50 / p95 / max, ms | ${p(lags.toRepository)} (${lags.toRepository.length} segments, ${lags.missing} not there within 15 s, ${lags.byScan} events seen by the 100 ms scan first) | |`);
        console.log(`| the same to archived (.done: archive_command returned), p50 / p95 / max, ms | ${p(lags.toDone)} (${lags.toDone.length} segments) | |`);
        console.log(`| pgBackRest's time per pushed segment under that load, p50 / p95 / max, ms | ${percentile(pushes, 50)} / ${percentile(pushes, 95)} / ${Math.max(...pushes)} (${pushes.length} pushes) | |`);
        console.log(`| primary tps, archiving off | ${spread(tps.off, 0)} | 1 |`);
        console.log(`| primary tps, archiving on (pgBackRest) | ${spread(tps.on, 0)} | ${(median(tps.on) / median(tps.off)).toFixed(2)} |`);
        console.log(`\nraw figures: ${path.relative(process.cwd(), json)}`);
    } catch (err) {
        // The pod's log goes with the cluster: show its end first.
        console.error(fs.readFileSync(c.logFile(0), "utf8").split("\n").slice(-40).join("\n"));
        throw err;
    } finally {
        await c.cleanup();
    }
}

main().catch((err) => {
    console.error(err);
    process.exit(1);
});

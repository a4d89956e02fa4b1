/** What the data-plane benchmarks share: summaries of repeated runs, and pgbench against a harness cluster's pod 0. */
import { ChildProcess, spawn, spawnSync } from "child_process";
import * as path from "path";
import { Cluster } from "../tests/harness/cluster";
import { PG_BIN } from "../tests/harness/pod";

export function median(xs: number[]): number {
    const s = [...xs].sort((a, b) => a - b);
    return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

export function percentile(xs: number[], p: number): number {
    const s = [...xs].sort((a, b) => a - b);
    return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
}

/** "median (min-max)" */
export const spread = (xs: number[], digits = 1) => `${median(xs).toFixed(digits)} (${Math.min(...xs).toFixed(digits)}-${Math.max(...xs).toFixed(digits)})`;

/** pgbench's command line against the pod at ordinal 0 as the application user, by name; `cpus` pins it. */
function pgbenchCommand(c: Cluster, args: string[], cpus?: string): { file: string; argv: string[]; env: NodeJS.ProcessEnv } {
    const command = [path.join(PG_BIN, "pgbench"), ...args, "-h", c.host(0), "-p", "5432", "-U", "app", "app"];
    const [file, ...argv] = cpus ? ["taskset", "-c", cpus, ...command] : command;
    return { file, argv, env: { PGPASSWORD: c.secret("app-password"), PATH: process.env.PATH, ...c.libpqEnv() } };
}

/**
 * pgbench as the application user against the pod at ordinal 0, by name with the cluster's TLS settings; its
 * output, or an error with its stderr. `cpus` (taskset's list) pins the client, as the benchmarks pin the pods.
 * It blocks the event loop: nothing else of the bench runs meanwhile (use pgbenchAsync beside a sampler).
 */
export function pgbench(c: Cluster, args: string[], cpus?: string): string {
    const { file, argv, env } = pgbenchCommand(c, args, cpus);
    const r = spawnSync(file, argv, { env, encoding: "utf8", maxBuffer: 64 << 20 });
    if (r.status !== 0) throw new Error(`pgbench ${args.join(" ")}: ${r.stderr}`);
    return r.stdout + r.stderr;
}

/** pgbench in the background: its process, its whole output, its tps, and a way to stop it early. */
export interface PgbenchRun {
    proc: ChildProcess;
    /** pgbench's output once it exits 0; rejects with its output otherwise (also when stopped). */
    output: Promise<string>;
    /** The tps figure of that output. */
    tps: Promise<number>;
    /** SIGINT, then resolves once it has exited (a load the caller ends itself has no figure to wait for). */
    stop(): Promise<void>;
}

/**
 * pgbench as `pgbench` above, started in the background so that the event loop runs beside it (a sampler, a
 * verify, a probe). Its output and tps are promises; a caller that never awaits them does not get an
 * unhandled rejection for a run it stopped.
 */
export function pgbenchBackground(c: Cluster, args: string[], cpus?: string): PgbenchRun {
    const { file, argv, env } = pgbenchCommand(c, args, cpus);
    const proc = spawn(file, argv, { env, stdio: ["ignore", "pipe", "pipe"] });
    let text = "";
    proc.stdout!.on("data", (d) => (text += d));
    proc.stderr!.on("data", (d) => (text += d));
    const exited = new Promise<number | null>((resolve, reject) => {
        proc.on("error", reject);
        proc.on("close", (code) => resolve(code));
    });
    const output = exited.then((code) => {
        if (code !== 0) throw new Error(`pgbench ${args.join(" ")} exited ${code}: ${text}`);
        return text;
    });
    const tps = output.then(tpsOf);
    // Handled here so that a stopped run's rejection is not unhandled; awaiting either still rejects.
    output.catch(() => undefined);
    tps.catch(() => undefined);
    const stop = async () => {
        if (proc.exitCode === null && proc.signalCode === null) proc.kill("SIGINT");
        await exited.catch(() => undefined);
    };
    return { proc, output, tps, stop };
}

/** pgbench as above, letting the event loop run (a sampler beside it); resolves with its output. */
export function pgbenchAsync(c: Cluster, args: string[], cpus?: string): Promise<string> {
    return pgbenchBackground(c, args, cpus).output;
}

/** The tps figure of pgbench's output; an error with the output if it has none. */
export function tpsOf(out: string): number {
    const m = /tps = ([0-9.]+)/.exec(out);
    if (!m) throw new Error(`no tps in pgbench's output: ${out}`);
    return Number(m[1]);
}

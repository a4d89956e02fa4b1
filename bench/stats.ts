/** What the data-plane benchmarks share: summaries of repeated runs, and pgbench against a harness cluster's pod 0. */
import { spawn, spawnSync } from "child_process";
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

/** pgbench as above, letting the event loop run (a sampler beside it); resolves with its output. */
export function pgbenchAsync(c: Cluster, args: string[], cpus?: string): Promise<string> {
    const { file, argv, env } = pgbenchCommand(c, args, cpus);
    return new Promise((resolve, reject) => {
        const child = spawn(file, argv, { env });
        let text = "";
        child.stdout.on("data", (d) => (text += d));
        child.stderr.on("data", (d) => (text += d));
        child.on("error", reject);
        child.on("exit", (code) => (code === 0 ? resolve(text) : reject(new Error(`pgbench ${args.join(" ")} exited ${code}: ${text}`))));
    });
}

/** The tps figure of pgbench's output. */
export const tpsOf = (out: string): number => Number(/tps = ([0-9.]+)/.exec(out)![1]);

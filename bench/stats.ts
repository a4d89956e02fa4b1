/** What the data-plane benchmarks share: summaries of repeated runs, and pgbench against a harness cluster's pod 0. */
import { spawnSync } from "child_process";
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

/** pgbench as the application user against the pod at ordinal 0, by name with the cluster's TLS settings; its output, or an error with its stderr. */
export function pgbench(c: Cluster, args: string[]): string {
    const r = spawnSync(path.join(PG_BIN, "pgbench"), [...args, "-h", c.host(0), "-p", "5432", "-U", "app", "app"], {
        env: { PGPASSWORD: c.secret("app-password"), PATH: process.env.PATH, ...c.libpqEnv() },
        encoding: "utf8",
        maxBuffer: 64 << 20,
    });
    if (r.status !== 0) throw new Error(`pgbench ${args.join(" ")}: ${r.stderr}`);
    return r.stdout + r.stderr;
}

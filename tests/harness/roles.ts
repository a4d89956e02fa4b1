/** Sampling which pods answer as writable, every 50 ms, by the servers' own clocks: what the failover tests of
 * both modes measure "never two writable pods" with. */
import { ChildProcess, spawn } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { PG_BIN } from "./pod";

/** One observation of a server: when (the server's own clock, ms) and whether it was out of recovery. */
export interface RoleSample {
    ordinal: number;
    atMs: number;
    writable: boolean;
}

/**
 * Asks every pod every 50 ms, over a connection kept open (psql's \watch), whether it is out of recovery,
 * stamped with the server's clock_timestamp(), so that a server that resumes after a pause reports the
 * moment it actually ran. A lost connection is re-opened at once.
 */
export class RoleSampler {
    private procs: ChildProcess[] = [];
    private exits: Promise<void>[] = [];

    constructor(
        /** The cluster's clients' settings: each pod by name, verify-full against its CA (Cluster.hosts). */
        private readonly target: { hosts(ordinals: number | number[]): string },
        private readonly ordinals: number[],
        private readonly password: string,
        private readonly dir: string,
    ) {}

    private file(ordinal: number): string {
        return path.join(this.dir, `roles-${ordinal}.txt`);
    }

    start(): void {
        fs.mkdirSync(this.dir, { recursive: true });
        const query = "SELECT (extract(epoch FROM clock_timestamp()) * 1000)::bigint, pg_is_in_recovery()";
        for (const i of this.ordinals) {
            const conninfo = `${this.target.hosts(i)} port=5432 user=app dbname=app connect_timeout=1`;
            const script = `while :; do printf '%s\\n\\\\watch 0.05\\n' "$Q" | "${PG_BIN}/psql" -X -A -t "${conninfo}" >>"$OUT" 2>/dev/null; sleep 0.05; done`;
            const proc = spawn("bash", ["-c", script], {
                env: { PGPASSWORD: this.password, PATH: process.env.PATH, Q: query, OUT: this.file(i) },
                stdio: "ignore",
                detached: true,
            });
            const kill = () => process.kill(-proc.pid!, "SIGKILL");
            process.once("exit", kill);
            this.exits.push(new Promise((resolve) => proc.on("exit", () => { process.removeListener("exit", kill); resolve(); })));
            this.procs.push(proc);
        }
    }

    /** Stops the samplers (their process groups: the loop and its psql). */
    async stop(): Promise<void> {
        for (const p of this.procs) {
            try {
                process.kill(-p.pid!, "SIGTERM");
            } catch {
                /* gone */
            }
        }
        await Promise.all(this.exits);
    }

    samples(): RoleSample[] {
        const all: RoleSample[] = [];
        for (const i of this.ordinals) {
            if (!fs.existsSync(this.file(i))) continue;
            for (const line of fs.readFileSync(this.file(i), "utf8").split("\n")) {
                const m = /^(\d+)\|([tf])$/.exec(line.trim());
                if (m) all.push({ ordinal: i, atMs: Number(m[1]), writable: m[2] === "f" });
            }
        }
        return all.sort((a, b) => a.atMs - b.atMs);
    }

    /** Pairs of samples from two different pods, both out of recovery, within `windowMs` of each other. */
    static overlaps(samples: RoleSample[], windowMs: number): [RoleSample, RoleSample][] {
        const writable = samples.filter((s) => s.writable);
        const found: [RoleSample, RoleSample][] = [];
        for (let a = 0; a < writable.length; a++) {
            for (let b = a + 1; b < writable.length && writable[b].atMs - writable[a].atMs <= windowMs; b++) {
                if (writable[b].ordinal !== writable[a].ordinal) found.push([writable[a], writable[b]]);
            }
        }
        return found;
    }
}

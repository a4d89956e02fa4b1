/** What the tests and the benchmark share about the automated-failover (Patroni) mode. */
import { ChildProcess, spawn } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { PATRONI_TIMING } from "../../components/engines/postgres/topologies/patroni/timing";
import { PG_BIN, Pod } from "./pod";
import { procStat } from "./proc";

/** Stands for an image built from images/postgres/Dockerfile; the harness runs Debian's PostgreSQL and the
 * image's Patroni release (tools/patroni/install.sh). */
export const PATRONI_IMAGE = "registry.example.com/postgres-patroni:17.6";

/** The bound docs/failover.md states: a dead leader's lock expires within ttl, and a replica acts within two of
 * Patroni's loops after that (one to notice, one to promote and be writable). */
export const AUTOMATED_FAILOVER_BOUND_MS = (PATRONI_TIMING.ttl + 2 * PATRONI_TIMING.loop_wait) * 1000;

/** A process of a pod, identified by pid and start time so that a recycled pid is never signalled. */
interface PodProcess {
    pid: number;
    start: string;
}

/** Every process named `comm` in the pod's mount namespace (its container's processes; the harness gives
 * each pod a namespace of its own). */
export function podProcesses(pod: Pod, comm: string): PodProcess[] {
    const ns = fs.readlinkSync(`/proc/${pod.pid}/ns/mnt`);
    const found: PodProcess[] = [];
    for (const d of fs.readdirSync("/proc")) {
        if (!/^[0-9]+$/.test(d)) continue;
        const pid = Number(d);
        try {
            if (fs.readlinkSync(`/proc/${pid}/ns/mnt`) !== ns) continue;
        } catch {
            continue;
        }
        const s = procStat(pid);
        if (s && s.comm === comm) found.push({ pid, start: s.start });
    }
    return found;
}

/**
 * Pauses every PostgreSQL process of the pod with SIGSTOP, as a hung disk or CPU starvation would,
 * leaving Patroni and the pod's scripts running. Repeats until a pass finds no process left running, so
 * that a backend forked while the list was read is paused too.
 */
export function freezePostgres(pod: Pod): PodProcess[] {
    const frozen = new Map<number, PodProcess>();
    for (let pass = 0; pass < 20; pass++) {
        const running = podProcesses(pod, "postgres").filter((p) => !frozen.has(p.pid) && procStat(p.pid)?.state !== "T");
        if (running.length === 0 && frozen.size > 0) return [...frozen.values()];
        for (const p of running) {
            try {
                process.kill(p.pid, "SIGSTOP");
                frozen.set(p.pid, p);
            } catch {
                /* exited meanwhile */
            }
        }
    }
    throw new Error(`${pod.name}: could not pause its postgres processes (${frozen.size} paused)`);
}

/** Resumes the processes freezePostgres paused that still exist (a killed one is simply gone). */
export function thaw(processes: PodProcess[]): number {
    let resumed = 0;
    for (const p of processes) {
        if (procStat(p.pid)?.start !== p.start) continue;
        try {
            process.kill(p.pid, "SIGCONT");
            resumed++;
        } catch {
            /* exited meanwhile */
        }
    }
    return resumed;
}

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

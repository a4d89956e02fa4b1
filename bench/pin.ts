/**
 * CPU pinning for the benchmarks: on one machine the primary and its replicas share the cores, so a replica's
 * work shows up as the primary's loss. Pinning the primary (and the load's client) to one core and the
 * replicas to the other shows what replication costs the primary itself.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { Cluster } from "../tests/harness/cluster";

/** Every process whose parent chain reaches one of `roots`, the roots included. */
function withDescendants(roots: number[]): number[] {
    const parent = new Map<number, number>();
    for (const entry of fs.readdirSync("/proc")) {
        if (!/^\d+$/.test(entry)) continue;
        try {
            // "pid (comm) state ppid ...": comm may hold spaces and parentheses, so read after the last ")".
            const stat = fs.readFileSync(`/proc/${entry}/stat`, "utf8");
            parent.set(Number(entry), Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]));
        } catch {
            // gone meanwhile
        }
    }
    const out = new Set(roots);
    let grew = true;
    while (grew) {
        grew = false;
        for (const [pid, ppid] of parent) {
            if (!out.has(pid) && out.has(ppid)) {
                out.add(pid);
                grew = true;
            }
        }
    }
    return [...out];
}

/**
 * Pins pod `ordinal` to `cpus` (taskset's list syntax, e.g. "0" or "0-1"): its container's processes and
 * its PostgreSQL server with every backend. pg_ctl's server is not a child of the container's process (it is
 * reparented), so it is found through postmaster.pid; backends forked later inherit the postmaster's mask.
 */
export function pinPod(c: Cluster, ordinal: number, cpus: string): void {
    const pod = c.pod(ordinal);
    const roots = [pod.pid];
    let postmaster: number | undefined;
    try {
        postmaster = Number(fs.readFileSync(path.join(pod.dataDir, "pgdata", "postmaster.pid"), "utf8").split("\n")[0]);
        roots.push(postmaster);
    } catch {
        // no server running: the container's processes alone
    }
    for (const pid of withDescendants(roots)) {
        // A process that exits meanwhile is no error.
        spawnSync("taskset", ["-a", "-p", "-c", cpus, String(pid)], { stdio: "ignore" });
    }
    // The figures mean nothing if the server was not pinned: check the one every new backend inherits from.
    if (postmaster !== undefined) {
        const allowed = /Cpus_allowed_list:\s*(\S+)/.exec(fs.readFileSync(`/proc/${postmaster}/status`, "utf8"))?.[1];
        if (allowed !== cpus) throw new Error(`pod ${ordinal}'s server (pid ${postmaster}) runs on CPUs ${allowed}, not ${cpus}`);
    }
}

/** "0-<n-1>": every CPU. */
export function allCpus(): string {
    return `0-${require("os").cpus().length - 1}`;
}

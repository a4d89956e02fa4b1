/** Pausing a pod's processes with SIGSTOP, as a hung disk, CPU starvation or a frozen VM would, and resuming
 * them: what the paused-primary tests of both failover modes share. */
import * as fs from "fs";
import { Pod } from "./pod";
import { procStat } from "./proc";

/** A process of a pod, identified by pid and start time so that a recycled pid is never signalled. */
interface PodProcess {
    pid: number;
    start: string;
}

/** Every process named `comm` (every process, without it) in the pod's mount namespace (its containers'
 * processes; the harness gives each pod a namespace of its own). */
export function podProcesses(pod: Pod, comm?: string): PodProcess[] {
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
        if (s && (comm === undefined || s.comm === comm)) found.push({ pid, start: s.start });
    }
    return found;
}

/**
 * Pauses every process named `comm` of the pod with SIGSTOP (every process of the pod, without it),
 * leaving the rest running. Repeats until a pass finds no such process left running, so that a backend
 * or a script's child forked while the list was read is paused too.
 */
export function freeze(pod: Pod, comm?: string): PodProcess[] {
    const frozen = new Map<number, PodProcess>();
    for (let pass = 0; pass < 20; pass++) {
        const running = podProcesses(pod, comm).filter((p) => !frozen.has(p.pid) && procStat(p.pid)?.state !== "T");
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
    throw new Error(`${pod.name}: could not pause its ${comm ? `${comm} ` : ""}processes (${frozen.size} paused)`);
}

/** Resumes the processes freeze paused that still exist (a killed one is simply gone). */
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


/** Pauses every PostgreSQL process of the pod, leaving Patroni and the pod's scripts running. */
export function freezePostgres(pod: Pod): PodProcess[] {
    return freeze(pod, "postgres");
}

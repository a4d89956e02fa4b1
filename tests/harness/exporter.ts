/**
 * The metrics exporter sidecar of every pod, run from its rendered container (Pod.startSidecar): Debian's
 * prometheus-postgres-exporter in place of the image's /bin/postgres_exporter, listening on the pod's loopback
 * address instead of every address. Everything else (queries file, socket, role, password file, uid) is as rendered.
 */
import { ChildProcess } from "child_process";
import * as path from "path";
import { EXPORTER_BINARY, EXPORTER_CONTAINER } from "../../components/monitoring/pod";
import { Cluster } from "./cluster";

export const DEBIAN_EXPORTER = "/usr/bin/prometheus-postgres-exporter";

export class Exporters {
    private readonly procs = new Map<number, ChildProcess>();

    constructor(private readonly c: Cluster) {}

    /** The log of pod `ordinal`'s exporter. */
    logFile(ordinal: number): string {
        return path.join(this.c.base, `${this.c.name}-${ordinal}-${EXPORTER_CONTAINER}.log`);
    }

    start(ordinal: number): void {
        if (this.procs.has(ordinal)) throw new Error(`the exporter of pod ${ordinal} already runs`);
        const pod = this.c.pod(ordinal);
        const proc = pod.startSidecar(EXPORTER_CONTAINER, this.logFile(ordinal), (argv) =>
            argv.map((a) => (a === EXPORTER_BINARY ? DEBIAN_EXPORTER : a.replace(/^--web\.listen-address=:/, `--web.listen-address=${pod.address}:`))),
        );
        this.procs.set(ordinal, proc);
    }

    startAll(): void {
        for (const ordinal of this.c.pods.keys()) this.start(ordinal);
    }

    /** The exporter's process id (unshare, bash and setpriv exec into it, so it keeps the first pid). */
    pid(ordinal: number): number {
        const pid = this.procs.get(ordinal)?.pid;
        if (pid === undefined) throw new Error(`the exporter of pod ${ordinal} does not run`);
        return pid;
    }

    /** Whether pod `ordinal`'s exporter process still runs. */
    running(ordinal: number): boolean {
        const p = this.procs.get(ordinal);
        return p !== undefined && p.exitCode === null && p.signalCode === null;
    }

    stop(): void {
        for (const p of this.procs.values()) {
            try {
                process.kill(-p.pid!, "SIGKILL");
            } catch {
                /* gone already */
            }
        }
        this.procs.clear();
    }
}

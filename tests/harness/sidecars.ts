/**
 * A sidecar container of every pod of a Cluster, run from its rendered container (Pod.startSidecar): its
 * command, env, mounts and uid as rendered, with `rewrite` mapping the image's binary and listen address to this
 * machine's. The kubelet's restart policy and probes are not played for sidecars: the test starts and stops them.
 */
import { ChildProcess } from "child_process";
import * as path from "path";
import { Cluster } from "./cluster";
import { Pod } from "./pod";

export class Sidecars {
    private readonly procs = new Map<number, ChildProcess>();

    constructor(
        protected readonly c: Cluster,
        private readonly container: string,
        private readonly rewrite: (argv: string[], pod: Pod) => string[] = (argv) => argv,
    ) {}

    /** The log of pod `ordinal`'s sidecar. */
    logFile(ordinal: number): string {
        return path.join(this.c.base, `${this.c.name}-${ordinal}-${this.container}.log`);
    }

    start(ordinal: number): void {
        if (this.procs.has(ordinal)) throw new Error(`the ${this.container} of pod ${ordinal} already runs`);
        const pod = this.c.pod(ordinal);
        this.procs.set(ordinal, pod.startSidecar(this.container, this.logFile(ordinal), (argv) => this.rewrite(argv, pod)));
    }

    startAll(): void {
        for (const ordinal of this.c.pods.keys()) this.start(ordinal);
    }

    /** The sidecar's process id (unshare, bash and setpriv exec into it, so it keeps the first pid). */
    pid(ordinal: number): number {
        const pid = this.procs.get(ordinal)?.pid;
        if (pid === undefined) throw new Error(`the ${this.container} of pod ${ordinal} does not run`);
        return pid;
    }

    /** Whether pod `ordinal`'s sidecar process still runs. */
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

/**
 * The kubelet's probe workers for one pod's database container (pkg/kubelet/prober/worker.go): one
 * worker per probe, ticking at the probe's rendered periodSeconds from the pod's creation on, across
 * container restarts. The startup probe runs first; readiness and liveness only once it has succeeded
 * (readiness at once then, as the kubelet triggers it). A result counts only after failureThreshold
 * failures or successThreshold successes in a row; a timed-out probe is a failure. Liveness (or startup)
 * failing failureThreshold times kills the container; readiness is the pod's Ready condition, false while
 * the container is not running. Failed probes' output goes to the pod's log, as a cluster shows it in events.
 */
export type ProbeKind = "startupProbe" | "readinessProbe" | "livenessProbe";

export interface ProbeResult {
    ok: boolean;
    output: string;
}

/** What the workers need from the pod. */
export interface ProbeTarget {
    /** The running container's instance number, or undefined while none runs. */
    containerInstance(): number | undefined;
    /** When the running container started (ms). */
    containerStartedAt(): number;
    probe(kind: ProbeKind): Promise<ProbeResult>;
    log(line: string): void;
    /** Kills the container as the kubelet does after a failed liveness or startup probe. */
    killContainer(reason: string): void;
}

const KINDS: ProbeKind[] = ["startupProbe", "readinessProbe", "livenessProbe"];
const NAMES: Record<ProbeKind, string> = { startupProbe: "Startup", readinessProbe: "Readiness", livenessProbe: "Liveness" };

interface Worker {
    spec: any;
    timer?: NodeJS.Timeout;
    last?: boolean;
    run: number;
    busy: boolean;
    onHold: boolean;
}

export class Prober {
    private readonly workers = new Map<ProbeKind, Worker>();
    private instance?: number;
    private started = false;
    private isReady = false;
    /** Output of the last failed probe of each kind, for error messages. */
    readonly lastFailure = new Map<ProbeKind, string>();

    constructor(container: any, private readonly target: ProbeTarget) {
        for (const kind of KINDS) {
            const spec = container[kind];
            if (!spec) continue;
            const w: Worker = { spec, run: 0, busy: false, onHold: false };
            this.workers.set(kind, w);
            w.timer = setInterval(() => void this.tick(kind), (spec.periodSeconds ?? 10) * 1000);
        }
    }

    /** The pod's Ready condition as the kubelet reports it. */
    get ready(): boolean {
        this.sync();
        return this.instance !== undefined && this.isReady;
    }

    stop(): void {
        for (const w of this.workers.values()) clearInterval(w.timer);
    }

    /** A new container instance starts with fresh probe state, as a new container ID does in the kubelet. */
    private sync(): number | undefined {
        const id = this.target.containerInstance();
        if (id === undefined) {
            this.isReady = false;
            return undefined;
        }
        if (id !== this.instance) {
            this.instance = id;
            this.started = !this.workers.has("startupProbe");
            this.isReady = this.started && !this.workers.has("readinessProbe");
            for (const w of this.workers.values()) Object.assign(w, { last: undefined, run: 0, onHold: false });
            // Without a startup probe the container counts as started now, and the kubelet probes
            // readiness at once rather than a period later.
            if (this.started) setImmediate(() => void this.tick("readinessProbe"));
        }
        return id;
    }

    private async tick(kind: ProbeKind): Promise<void> {
        const w = this.workers.get(kind);
        const id = this.sync();
        if (!w || id === undefined || w.onHold || w.busy) return;
        if (Date.now() - this.target.containerStartedAt() < (w.spec.initialDelaySeconds ?? 0) * 1000) return;
        if ((kind === "startupProbe") === this.started) return;
        w.busy = true;
        let result: ProbeResult;
        try {
            result = await this.target.probe(kind);
        } finally {
            w.busy = false;
        }
        // The container this probe ran in is gone: its result means nothing for the next one.
        if (this.sync() !== id) return;
        if (!result.ok) {
            this.lastFailure.set(kind, result.output);
            this.target.log(`${NAMES[kind]} probe failed: ${result.output.trim() || "(no output)"}`);
        }
        if (w.last === result.ok) w.run++;
        else Object.assign(w, { last: result.ok, run: 1 });
        if (w.run < (result.ok ? w.spec.successThreshold ?? 1 : w.spec.failureThreshold ?? 3)) return;
        if (kind === "readinessProbe") {
            this.isReady = result.ok;
        } else if (result.ok) {
            if (kind === "startupProbe" && !this.started) {
                this.started = true;
                if (this.workers.has("readinessProbe")) setImmediate(() => void this.tick("readinessProbe"));
                else this.isReady = true;
            }
        } else {
            Object.assign(w, { onHold: true, run: 0 });
            this.target.killContainer(`${NAMES[kind]} probe failed ${w.spec.failureThreshold ?? 3} times in a row`);
        }
    }
}

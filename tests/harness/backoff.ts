/**
 * The kubelet's CrashLoopBackOff for one container (kubelet doBackOff over client-go's flowcontrol.Backoff):
 * the first restart after an exit is immediate; each further exit waits 10 s, then 20, 40, ... up to 300 s,
 * counted from the moment the container exited; a container that ran 10 min (twice the cap) since its
 * last restart starts over at an immediate restart. `scale` shrinks every duration for tests that need
 * speed; 1 is the kubelet's.
 */
export const BACKOFF_INITIAL_MS = 10_000;
export const BACKOFF_MAX_MS = 300_000;

export class CrashLoopBackOff {
    private backoffMs?: number;
    private lastRestart = 0;

    constructor(private readonly scale = 1) {
        if (!(scale > 0 && scale <= 1)) throw new Error(`crashLoopBackOffScale is ${scale}; allowed: a number in (0, 1]`);
    }

    /** The delay before restarting a container that exited at `exitedAt`; records the restart as done then. */
    next(exitedAt: number): number {
        const max = BACKOFF_MAX_MS * this.scale;
        const fresh = this.backoffMs === undefined || exitedAt - this.lastRestart > 2 * max;
        let delay: number;
        if (fresh) {
            delay = 0;
            this.backoffMs = BACKOFF_INITIAL_MS * this.scale;
        } else {
            delay = this.backoffMs!;
            this.backoffMs = Math.min(this.backoffMs! * 2, max);
        }
        this.lastRestart = exitedAt + delay;
        return delay;
    }

    /** The delay the next exit would wait (what `kubectl describe` shows as back-off), for messages. */
    get current(): number {
        return this.backoffMs ?? 0;
    }
}

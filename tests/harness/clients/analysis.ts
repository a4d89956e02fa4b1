/**
 * Reads the clients' and the sampler's logs after a run and finds what must never happen: two writable
 * pods at once, an acknowledged row missing on the final primary, a read served by a standby that had not
 * streamed for longer than the grace. Also the compact figures: operations and errors per client, and the
 * longest time without an acknowledged write after each event.
 */
import { ClientSpec, OpRecord, Sample, readJsonLines } from "./protocol";

/** A standby may serve reads this long after it stopped streaming (the probe and the endpoints lag). */
export const STALE_READ_GRACE_MS = 5000;

export interface Findings {
    failures: string[];
    summary: string;
}

interface Window {
    pod: number;
    from: number;
    to: number;
}

/** Runs of consecutive "not in recovery" answers per pod, from the first question to the last answer. */
export function writableWindows(samples: Sample[]): Window[] {
    const windows: Window[] = [];
    const byPod = new Map<number, Sample[]>();
    for (const s of samples) byPod.set(s.pod, [...(byPod.get(s.pod) ?? []), s]);
    for (const [pod, list] of byPod) {
        list.sort((a, b) => a.t - b.t);
        let open: Window | undefined;
        for (const s of list) {
            if (s.ok && s.rec === false) {
                if (!open) open = { pod, from: s.t, to: s.end };
                else open.to = s.end;
            } else if (open) {
                windows.push(open);
                open = undefined;
            }
        }
        if (open) windows.push(open);
    }
    return windows;
}

export function overlaps(windows: Window[]): string[] {
    const out: string[] = [];
    for (let i = 0; i < windows.length; i++) {
        for (let j = i + 1; j < windows.length; j++) {
            const a = windows[i];
            const b = windows[j];
            if (a.pod !== b.pod && a.from <= b.to && b.from <= a.to) {
                out.push(`two writable pods: db-${a.pod} ${iso(a.from)}..${iso(a.to)} and db-${b.pod} ${iso(b.from)}..${iso(b.to)}`);
            }
        }
    }
    return out;
}

/** A sampler may not look away from a pod for longer than this (it polls every ~20 ms). */
export const SAMPLER_MAX_GAP_MS = 3000;

/** Stretches longer than SAMPLER_MAX_GAP_MS in which a pod was not asked at all. */
export function blindSpots(samples: Sample[], pods: number[], from: number, to: number): string[] {
    const out: string[] = [];
    for (const pod of pods) {
        const times = samples.filter((x) => x.pod === pod && x.t >= from && x.t <= to).map((x) => x.t).sort((a, b) => a - b);
        let prev = from;
        let worst = 0;
        for (const t of [...times, to]) {
            worst = Math.max(worst, t - prev);
            prev = t;
        }
        if (worst > SAMPLER_MAX_GAP_MS) out.push(`the sampler did not ask db-${pod} for ${(worst / 1000).toFixed(1)} s: the two-writable check is blind there`);
    }
    return out;
}

/** When each pod was seen current: answering as a primary, or as a standby whose WAL receiver said "streaming" at
 * two polls in a row (the same pid). PostgreSQL 15 says "streaming" for a moment even for a receiver its primary
 * refuses (decide_wal in the engine's decide-gate.sh), so one such answer proves nothing. */
export function streamingTimes(samples: Sample[]): Map<number, number[]> {
    const byPod = new Map<number, Sample[]>();
    for (const s of samples) if (s.ok) byPod.set(s.pod, [...(byPod.get(s.pod) ?? []), s]);
    const out = new Map<number, number[]>();
    for (const [pod, list] of byPod) {
        list.sort((a, b) => a.t - b.t);
        const times: number[] = [];
        list.forEach((s, i) => {
            const prev = list[i - 1];
            const confirmed = s.wal === "streaming" && prev?.wal === "streaming" && prev.walPid === s.walPid;
            if (s.rec === false || confirmed) times.push(s.end);
        });
        out.set(pod, times);
    }
    return out;
}

/** Reads by gated clients from a standby not seen current (streamingTimes) for longer than the grace. The read's own
 * answer ("streaming") is not taken: one answer cannot tell a receiver that streams from one being refused. */
export function staleReads(ops: OpRecord[], samples: Sample[], podOf: (addr: string) => number, gated: string[], since: number): string[] {
    const streamingAt = streamingTimes(samples);
    const out: string[] = [];
    for (const op of ops) {
        if (!gated.includes(op.client) || op.kind !== "read" || !op.ok || op.rec !== true) continue;
        const pod = podOf(op.addr ?? "");
        const times = streamingAt.get(pod) ?? [];
        let last = since;
        for (const t of times) if (t <= op.t) last = t;
        const age = op.t - last;
        if (age > STALE_READ_GRACE_MS) out.push(`${op.client} read from db-${pod} at ${iso(op.t)}, not seen streaming for ${(age / 1000).toFixed(1)} s (the read saw wal receiver ${op.wal ?? "absent"})`);
    }
    return out;
}

/** The longest time between two acknowledged writes of one writer within [from, to). */
function maxGap(acks: number[], from: number, to: number): number {
    let prev = -Infinity;
    let gap = 0;
    for (const t of acks) {
        if (t < from) {
            prev = t;
            continue;
        }
        if (t >= to) break;
        if (prev !== -Infinity) gap = Math.max(gap, t - prev);
        prev = t;
    }
    // Still nothing acknowledged at the end of the window: the outage lasts to its end.
    if (prev !== -Infinity && prev < to) gap = Math.max(gap, Math.min(to, Date.now()) - prev);
    return gap;
}

export function analyse(opts: {
    specs: ClientSpec[];
    samplesFile: string;
    events: { t: number; label: string }[];
    /** Every id present on the final primary (undefined: it did not answer, so no row count). */
    finalIds?: Set<string>;
    podOf: (addr: string) => number;
    /** The ordinals the sampler watches. */
    pods: number[];
    gated: string[];
    end: number;
}): Findings {
    const failures: string[] = [];
    const lines: string[] = [];
    const samples = readJsonLines<Sample>(opts.samplesFile);
    const ops = opts.specs.flatMap((s) => readJsonLines<OpRecord>(s.log));
    const start = opts.events[0]?.t ?? 0;

    const two = overlaps(writableWindows(samples));
    failures.push(...two.slice(0, 10));
    // The check above is only as good as the sampling: a sampler that stalled would see nothing.
    const lastSample = samples.reduce((m, x) => Math.max(m, x.t), start);
    failures.push(...blindSpots(samples, opts.pods, start, lastSample));

    lines.push("client           ops    ok  errors  first error");
    for (const s of opts.specs) {
        const mine = ops.filter((o) => o.client === s.name);
        const errors = mine.filter((o) => !o.ok);
        lines.push(`${s.name.padEnd(15)} ${String(mine.length).padStart(5)} ${String(mine.length - errors.length).padStart(5)} ${String(errors.length).padStart(7)}  ${errors[0]?.error?.slice(0, 60) ?? ""}`);
        if (s.kind === "write" && opts.finalIds) {
            const lost = mine.filter((o) => o.ok && o.id && !opts.finalIds!.has(o.id)).map((o) => o.id!);
            if (lost.length > 0) failures.push(`${s.name}: ${lost.length} acknowledged rows missing on the final primary (${lost.slice(0, 5).join(", ")}...)`);
        }
    }

    const stale = staleReads(ops, samples, opts.podOf, opts.gated, start);
    if (stale.length > 0) failures.push(`${stale.length} reads from standbys not streaming for > ${STALE_READ_GRACE_MS / 1000} s; first: ${stale.slice(0, 3).join("; ")}`);

    const writers = opts.specs.filter((s) => s.kind === "write").map((s) => ({
        name: s.name,
        acks: ops.filter((o) => o.client === s.name && o.ok).map((o) => o.end).sort((a, b) => a - b),
    }));
    lines.push("event                               max write outage, s (worst writer)");
    opts.events.forEach((e, i) => {
        const to = opts.events[i + 1]?.t ?? opts.end;
        let worst = { name: "-", gap: 0 };
        for (const w of writers) {
            const gap = maxGap(w.acks, e.t, to);
            if (gap > worst.gap) worst = { name: w.name, gap };
        }
        lines.push(`${e.label.padEnd(35)} ${(worst.gap / 1000).toFixed(1).padStart(6)} (${worst.name})`);
    });
    lines.push(`samples: ${samples.length}; writable windows overlapping: ${two.length}; stale gated reads: ${stale.length}`);
    return { failures, summary: lines.join("\n") };
}

function iso(t: number): string {
    return new Date(t).toISOString().slice(11, 23);
}

/**
 * The archive-lag sampler, a process of its own (forked by bench/backup.ts), so that nothing the bench does
 * holds it up. It notes the first time it sees, per WAL segment:
 *   ready: `<segment>.ready` in the primary's pg_wal/archive_status: the server completed the segment (it
 *          creates the file right after the segment's last write and fsync, to wake the archiver);
 *   repo:  `<segment>-<sha1>.<ext>` in the repository's archive directory: pgBackRest's push is complete (it
 *          writes a temporary file and renames it, so the name appears once the file is whole);
 *   done:  `<segment>.done`: archive_command returned and the server counts the segment as archived.
 * inotify (fs.watch) gives the instants; a scan every 100 ms catches what a watch could miss (a directory made
 * between two events), and each line says which of the two saw it first. Names there before it started are not
 * reported. One JSON line per event on stdout-free file FILE; "started" over IPC once the first scan is done.
 *
 *   fork bench/archive-watch.ts FILE ARCHIVE_STATUS_DIR REPOSITORY_ARCHIVE_DIR
 */
import * as fs from "fs";
import * as path from "path";
import { performance } from "perf_hooks";

export type ArchiveEventKind = "ready" | "done" | "repo";
export interface ArchiveEvent {
    /** ms since the epoch, sub-ms resolution. */
    t: number;
    kind: ArchiveEventKind;
    segment: string;
    via: "watch" | "scan";
}

/** The kind and segment a file name stands for, if any (timeline history and backup files are not segments). */
export function classify(name: string, inRepository: boolean): { kind: ArchiveEventKind; segment: string } | undefined {
    if (inRepository) {
        const m = /^([0-9A-F]{24})-[0-9a-f]{40}(\.[a-z0-9]+)?$/.exec(name);
        return m ? { kind: "repo", segment: m[1] } : undefined;
    }
    const m = /^([0-9A-F]{24})\.(ready|done)$/.exec(name);
    return m ? { kind: m[2] as "ready" | "done", segment: m[1] } : undefined;
}

/** Per segment completed under a pgbench load: ms from its completion to the repository, and to archived. */
export interface ArchiveLag {
    /** `.ready` made (the segment complete) to its file whole in the repository, ms. */
    toRepository: number[];
    /** `.ready` made to `.done` (archive_command returned, the server counts it archived), ms. */
    toDone: number[];
    /** Segments completed that never reached the repository within the window. */
    missing: number;
    /** Events the 100 ms scan saw before inotify did (their instants are up to 100 ms late). */
    byScan: number;
}

/** Pairs a watcher's events per segment: ready to repo, ready to done. */
export function pairArchiveEvents(events: ArchiveEvent[]): ArchiveLag {
    const at = (kind: ArchiveEvent["kind"]) => new Map(events.filter((e) => e.kind === kind).map((e) => [e.segment, e.t]));
    const [ready, repo, done] = [at("ready"), at("repo"), at("done")];
    const lag: ArchiveLag = { toRepository: [], toDone: [], missing: 0, byScan: events.filter((e) => e.via === "scan").length };
    for (const [segment, t] of ready) {
        const r = repo.get(segment);
        if (r === undefined) lag.missing++;
        else lag.toRepository.push(r - t);
        const d = done.get(segment);
        if (d !== undefined) lag.toDone.push(d - t);
    }
    return lag;
}

function main(): void {
    const [file, statusDir, repoDir] = process.argv.slice(2);
    const out = fs.openSync(file, "a");
    const now = () => performance.timeOrigin + performance.now();
    const seen = new Set<string>();
    let started = false;
    const note = (name: string, inRepository: boolean, via: ArchiveEvent["via"], t = now()) => {
        const c = classify(name, inRepository);
        if (!c) return;
        const key = `${c.kind} ${c.segment}`;
        if (seen.has(key)) return;
        seen.add(key);
        // Before the first scan is complete, a name is old: remembered, not reported.
        if (started) fs.writeSync(out, JSON.stringify({ t, ...c, via } satisfies ArchiveEvent) + "\n");
    };
    const watched = new Set<string>();
    const watchDir = (dir: string, inRepository: boolean) => {
        if (watched.has(dir)) return;
        try {
            fs.watch(dir, (_event, name) => {
                const t = now();
                if (!name) return;
                const full = path.join(dir, name.toString());
                if (inRepository && !classify(name.toString(), true)) {
                    // A new directory of the repository (the next 256 segments): watch it too.
                    try {
                        if (fs.statSync(full).isDirectory()) watchDir(full, true);
                    } catch {
                        /* gone again */
                    }
                    return;
                }
                // A rename event is a creation or a removal: only a name that exists now is new.
                if (fs.existsSync(full)) note(name.toString(), inRepository, "watch", t);
            });
            watched.add(dir);
        } catch {
            /* not there yet: the next scan tries again */
        }
    };
    const scanTree = (dir: string, inRepository: boolean) => {
        let entries: fs.Dirent[];
        try {
            entries = fs.readdirSync(dir, { withFileTypes: true });
        } catch {
            return;
        }
        watchDir(dir, inRepository);
        for (const e of entries) {
            if (e.isDirectory() && inRepository) scanTree(path.join(dir, e.name), true);
            else note(e.name, inRepository, "scan");
        }
    };
    const scan = () => {
        scanTree(statusDir, false);
        scanTree(repoDir, true);
    };
    scan();
    started = true;
    setInterval(scan, 100);
    process.send?.("started");
    process.on("SIGTERM", () => process.exit(0));
}

if (require.main === module) main();

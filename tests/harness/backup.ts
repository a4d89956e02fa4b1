/** What the backup data tests share: the image name they render with, and pgBackRest and archiver lookups in a pod. */
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { Cluster } from "./cluster";
import { claimDir } from "./pod";

/** An image name with pgBackRest as the component requires one; the harness runs Debian's binaries. */
export const BACKUP_IMAGE = "registry.example.com/replicated-db-postgres:17.6";
/** Where the rendered pods find their scripts. */
export const POD_SCRIPTS = "/etc/replicated-db/scripts";
const SU = { user: "postgres", database: "postgres" };

/** `pgbackrest info --output=json` in a pod: its (first) stanza. */
export async function backupInfo(c: Cluster, ordinal: number): Promise<any> {
    const r = await c.exec(ordinal, ["pgbackrest", "info", "--output=json"]);
    assert.strictEqual(r.status, 0, r.stderr);
    return JSON.parse(r.stdout)[0];
}

/** pg_stat_archiver's counters on a pod. */
export function archiver(c: Cluster, ordinal: number): { archived: number; failed: number; lastArchived: string } {
    const [archived, failed, lastArchived] = c.sql(ordinal, "SELECT archived_count || ',' || failed_count || ',' || coalesce(last_archived_wal, '') FROM pg_stat_archiver", SU).split(",");
    return { archived: Number(archived), failed: Number(failed), lastArchived };
}

/** Closes the current WAL segment on a primary and waits until the archiver has pushed one more. */
export async function switchAndArchive(c: Cluster, ordinal: number, timeoutMs = 60000): Promise<void> {
    const before = archiver(c, ordinal).archived;
    c.sql(ordinal, "SELECT pg_switch_wal() FROM (SELECT txid_current()) x", SU);
    await c.until(`${c.name}-${ordinal} to archive the switched segment`, () => archiver(c, ordinal).archived > before, timeoutMs);
}

/** Gives `to` the ReadWriteMany claim `claim` of `from` (the same repository volume), before `to` starts. */
export function shareClaim(from: Cluster, to: Cluster, claim: string): void {
    fs.mkdirSync(path.dirname(claimDir(to.base, claim)), { recursive: true });
    fs.symlinkSync(claimDir(from.base, claim), claimDir(to.base, claim));
}

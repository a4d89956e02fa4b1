/**
 * The sampler, a process of its own: one held superuser connection per pod, each polled about every 20 ms
 * for pg_is_in_recovery(), the WAL receiver's status and pid and the timeline, every answer logged as a JSON line
 * with the time it was asked and answered (see Sample). Two pods answering "not in recovery" in
 * overlapping windows means two writable pods. The password comes in the env (SAMPLER_PASSWORD). Arguments: the
 * log file, the period and the pods' names.
 */
import * as fs from "fs";
import { Client } from "pg";
import { Sample } from "./protocol";

const [logFile, periodArg, ...addresses] = process.argv.slice(2);
const period = Number(periodArg);
const out = fs.openSync(logFile, "a");
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** The cluster's CA (SAMPLER_CA_FILE, empty with TLS off): the pods' names are verified, as verify-full does. */
const ca = process.env.SAMPLER_CA_FILE ? fs.readFileSync(process.env.SAMPLER_CA_FILE, "utf8") : undefined;

const SQL = `SELECT pg_is_in_recovery() AS rec,
       (SELECT status FROM pg_stat_wal_receiver) AS wal,
       (SELECT pid FROM pg_stat_wal_receiver) AS wal_pid,
       CASE WHEN pg_is_in_recovery() THEN (SELECT received_tli FROM pg_stat_wal_receiver)
            ELSE ('x' || substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8))::bit(32)::int END AS tli`;

async function poll(pod: number, host: string): Promise<void> {
    let c: Client | undefined;
    for (;;) {
        const t = Date.now();
        try {
            if (!c) {
                const fresh = new Client({ host, port: 5432, user: "postgres", database: "postgres", password: process.env.SAMPLER_PASSWORD, connectionTimeoutMillis: 1000, query_timeout: 2000, ...(ca ? { ssl: { ca, rejectUnauthorized: true } } : {}) });
                fresh.on("error", () => undefined);
                c = fresh;
                await fresh.connect();
            }
            const r = (await c.query(SQL)).rows[0];
            const s: Sample = { t, end: Date.now(), pod, ok: true, rec: r.rec, wal: r.wal, walPid: r.wal_pid, tli: r.tli };
            fs.writeSync(out, JSON.stringify(s) + "\n");
            await sleep(period);
        } catch {
            fs.writeSync(out, JSON.stringify({ t, end: Date.now(), pod, ok: false } satisfies Sample) + "\n");
            c?.end().catch(() => undefined);
            c = undefined;
            await sleep(100);
        }
    }
}

process.on("SIGTERM", () => process.exit(0));
addresses.forEach((a, i) => poll(i, a));

/**
 * What the load tests ask of the cluster between steps, as the superuser over TCP without blocking the
 * test's event loop (which keeps the Services' endpoints current): who is writable, who streams from whom
 * on which timeline, and the end state every step must reach.
 */
import { spawn } from "child_process";
import * as fs from "fs";
import { Cluster, sleep } from "../cluster";
import { PG_BIN } from "../pod";

/** psql as the superuser on one pod; rejects with psql's message. */
export function superSql(c: Cluster, ordinal: number, query: string, database = "postgres"): Promise<string> {
    return new Promise((resolve, reject) => {
        const conninfo = `${c.hosts(ordinal)} port=5432 user=postgres dbname=${database} connect_timeout=3`;
        const child = spawn(`${PG_BIN}/psql`, ["-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-c", query, conninfo], {
            env: { PGPASSWORD: c.secret("superuser-password"), PATH: process.env.PATH },
        });
        let out = "";
        let err = "";
        child.stdout.on("data", (d) => (out += d));
        child.stderr.on("data", (d) => (err += d));
        const timer = setTimeout(() => child.kill("SIGKILL"), 15000);
        child.on("close", (code) => {
            clearTimeout(timer);
            if (code === 0) resolve(out.trim());
            else reject(new Error(`db-${ordinal}: ${err.trim() || `psql exited ${code}`}`));
        });
    });
}

/** The pods that answer "not in recovery" now. */
export async function writable(c: Cluster, ordinals: number[]): Promise<number[]> {
    const answers = await Promise.all(ordinals.map((i) => (c.pod(i).running ? superSql(c, i, "SELECT pg_is_in_recovery()").catch(() => "") : Promise.resolve(""))));
    return ordinals.filter((_, k) => answers[k] === "f");
}

/** The timeline the server writes on (a primary). */
const PRIMARY_TLI = "SELECT ('x' || substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8))::bit(32)::int";

/** Why the cluster is not (yet) one primary with every other pod streaming from it on its timeline; "" when it is. */
export async function notConverged(c: Cluster, primary: number, ordinals: number[]): Promise<string> {
    const w = await writable(c, ordinals);
    if (w.join() !== String(primary)) return `writable pods: [${w.join(",")}], want [${primary}]`;
    const tli = await superSql(c, primary, PRIMARY_TLI);
    const streaming = Number(await superSql(c, primary, "SELECT count(*) FROM pg_stat_replication WHERE state = 'streaming'"));
    if (streaming !== ordinals.length - 1) return `db-${primary} (timeline ${tli}) has ${streaming} streaming replicas, want ${ordinals.length - 1}`;
    for (const i of ordinals.filter((x) => x !== primary)) {
        const r = await superSql(c, i, "SELECT status || ' ' || received_tli FROM pg_stat_wal_receiver").catch((e) => String(e.message));
        if (r !== `streaming ${tli}`) return `db-${i}: wal receiver "${r}", want "streaming ${tli}"`;
    }
    return "";
}

/** Waits (bounded) until notConverged is empty; the error says what was last missing and what the logs show. */
export async function untilConverged(c: Cluster, primary: number, ordinals: number[], what: string, timeoutMs = 120000): Promise<number> {
    const start = Date.now();
    let last = "";
    while (Date.now() - start < timeoutMs) {
        last = await notConverged(c, primary, ordinals).catch((e) => String(e.message));
        if (last === "") return Date.now() - start;
        await sleep(500);
    }
    throw new Error(`${what}: not converged after ${timeoutMs / 1000} s: ${last}\n${signatures(c, ordinals).join("\n")}`);
}

/** Lines of the pods' logs that name a known failure: a forked timeline, a failed rewind, a server that
 * could not start. */
export function signatures(c: Cluster, ordinals: number[]): string[] {
    const patterns = /forked off|not a child of|could not find previous WAL|pg_rewind failed|event=rewind_failed|FATAL|PANIC|requested timeline|diverged/;
    const out: string[] = [];
    for (const i of ordinals) {
        const file = c.logFile(i);
        if (!fs.existsSync(file)) continue;
        const hits = fs.readFileSync(file, "utf8").split("\n").filter((l) => patterns.test(l) && !/the database system is (starting up|shutting down)|terminating connection due to administrator/.test(l));
        const unique = [...new Set(hits.map((l) => l.replace(/^\S+ \S+ \S+ /, "").slice(0, 200)))];
        out.push(...unique.slice(0, 8).map((l) => `db-${i}: ${l}`));
    }
    return out;
}

/** The replica that received most WAL: the operator's choice for a manual failover. */
export async function mostAdvanced(c: Cluster, candidates: number[]): Promise<number> {
    const lsn = async (i: number) => BigInt(await superSql(c, i, "SELECT pg_last_wal_receive_lsn() - '0/0'").catch(() => "-1"));
    const received = await Promise.all(candidates.map(lsn));
    let best = 0;
    received.forEach((r, k) => {
        if (r > received[best]) best = k;
    });
    return candidates[best];
}

/** RDB_SWITCHOVER_ROUNDS: how many rounds of switchovers a load test runs (default 2). */
export function switchoverRounds(): number {
    const raw = process.env.RDB_SWITCHOVER_ROUNDS ?? "2";
    if (!/^[1-9][0-9]?$/.test(raw)) throw new Error(`invalid RDB_SWITCHOVER_ROUNDS: '${raw}' (allowed: a whole number from 1 to 99)`);
    return Number(raw);
}

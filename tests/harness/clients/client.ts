/**
 * One application client, run as a process of its own: writes one row per transaction (recording the
 * acknowledged id) or reads, every `intervalMs`, reconnecting after a short pause on any error, and logs
 * every operation as a JSON line (see OpRecord). The password comes in the env (CLIENT_PASSWORD), never on
 * the command line, and is never logged.
 *
 *   driver "psql": one psql (libpq) per operation, as a shell loop does; the conninfo may be multi-host.
 *   driver "pg":   node-postgres, one connection held across operations, as an application pool holds it.
 * Every driver connects by name and, with TLS on, verifies the server against the cluster's CA (verify-full).
 */
import { spawn } from "child_process";
import * as fs from "fs";
import { Client } from "pg";
import { OpRecord, READ_SQL, ClientSpec, writeSql } from "./protocol";

const spec: ClientSpec = JSON.parse(process.argv[2]);
const password = process.env.CLIENT_PASSWORD ?? "";
const out = fs.openSync(spec.log, "a");
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function record(r: OpRecord): void {
    fs.writeSync(out, JSON.stringify(r) + "\n");
}

/** The first row of a result as the four columns every query returns. */
type Row = { addr: string | null; rec: boolean | null; wal: string | null; id: string | null };

/** A psql run with a kill after 10 s: a commit that hangs (no synchronous standby) is abandoned, unacknowledged. */
function psqlOnce(sql: string): Promise<Row> {
    return new Promise((resolve, reject) => {
        const child = spawn("/usr/lib/postgresql/15/bin/psql", ["-X", "-q", "-A", "-t", "-F", "|", "-v", "ON_ERROR_STOP=1", "-c", sql, spec.conninfo!], {
            env: { PGPASSWORD: password, PATH: process.env.PATH },
        });
        let stdout = "";
        let stderr = "";
        child.stdout.on("data", (d) => (stdout += d));
        child.stderr.on("data", (d) => (stderr += d));
        const timer = setTimeout(() => child.kill("SIGKILL"), 10000);
        child.on("close", (code) => {
            clearTimeout(timer);
            if (code !== 0) return reject(new Error(stderr.trim().replace(/\s+/g, " ") || `psql exited ${code}`));
            const [addr, rec, wal, id] = stdout.trim().split("|");
            resolve({ addr: addr || null, rec: rec === "t" ? true : rec === "f" ? false : null, wal: wal || null, id: id || null });
        });
    });
}

let pg: Client | undefined;

async function pgOnce(sql: string): Promise<Row> {
    if (!pg) {
        const c = new Client({
            host: spec.host,
            port: spec.port,
            user: "app",
            database: "app",
            password,
            connectionTimeoutMillis: 2000,
            // As sslmode=verify-full: the certificate must chain to the cluster's CA and name the host.
            ...(spec.caFile ? { ssl: { ca: fs.readFileSync(spec.caFile, "utf8"), rejectUnauthorized: true } } : {}),
            // Client-side only: on expiry the connection is dropped, so the row is not acknowledged (a
            // server-side statement_timeout would cancel the synchronous wait and report success).
            query_timeout: 10000,
        });
        c.on("error", () => {
            /* surfaced by the next query */
        });
        await c.connect().catch(async (e) => {
            await c.end().catch(() => undefined);
            throw e;
        });
        pg = c;
    }
    try {
        const r = await pg.query(sql);
        const row = r.rows[0] ?? {};
        return { addr: row.addr ?? null, rec: row.rec ?? null, wal: row.wal ?? null, id: row.id ?? null };
    } catch (e) {
        const c = pg;
        pg = undefined;
        c.end().catch(() => undefined);
        throw e;
    }
}

async function main(): Promise<void> {
    let seq = 0;
    for (;;) {
        const id = spec.kind === "write" ? `${spec.name}-${++seq}` : undefined;
        const sql = id ? writeSql(id, spec.name) : READ_SQL;
        const t = Date.now();
        try {
            const row = spec.driver === "psql" ? await psqlOnce(sql) : await pgOnce(sql);
            record({ t, end: Date.now(), client: spec.name, kind: spec.kind, ok: true, addr: row.addr, rec: row.rec, wal: row.wal, id: row.id ?? undefined });
            await sleep(spec.intervalMs);
        } catch (e) {
            record({ t, end: Date.now(), client: spec.name, kind: spec.kind, ok: false, error: String((e as Error).message ?? e).slice(0, 200) });
            await sleep(spec.retryMs ?? 200);
        }
    }
}

process.on("SIGTERM", () => process.exit(0));
main();

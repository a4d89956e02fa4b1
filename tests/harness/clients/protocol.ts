/** What the client processes, the sampler and the analysis share: the queries, the specs and the log records. */

/** The table every writer inserts into; ids are `<client>-<n>`, unique across clients. */
export const TABLE = "load_rows";
export const CREATE_TABLE = `CREATE TABLE ${TABLE} (id text PRIMARY KEY, client text NOT NULL, at timestamptz NOT NULL DEFAULT now())`;

/** The server's own view, in every answer: which server, whether it is a standby, its WAL receiver state.
 * (The app user sees pg_stat_wal_receiver's status through pg_read_all_stats, granted by the test.) */
const SERVER_VIEW = "host(inet_server_addr()) AS addr, pg_is_in_recovery() AS rec, (SELECT status FROM pg_stat_wal_receiver) AS wal";

export const READ_SQL = `SELECT ${SERVER_VIEW}, NULL AS id`;

/** One row per transaction (autocommit): the answer arrives only after the commit, synchronous wait included. */
export function writeSql(id: string, client: string): string {
    if (!/^[A-Za-z0-9_-]+$/.test(id + client)) throw new Error(`invalid client id ${id}: letters, digits, - and _ only`);
    return `INSERT INTO ${TABLE} (id, client) VALUES ('${id}', '${client}') RETURNING ${SERVER_VIEW}, id`;
}

export interface ClientSpec {
    name: string;
    kind: "write" | "read";
    driver: "psql" | "pg" | "jdbc";
    /** libpq conninfo (psql; no password), or a JDBC URL (jdbc). */
    conninfo?: string;
    /** node-postgres: one host (a pod's or Service's name) and port (it cannot parse multi-host strings). */
    host?: string;
    /** node-postgres: the CA file it verifies the server's certificate and name with (tls on). */
    caFile?: string;
    port?: number;
    intervalMs: number;
    retryMs?: number;
    log: string;
}

/** One operation of one client. t and end in ms since the epoch. */
export interface OpRecord {
    t: number;
    end: number;
    client: string;
    kind: "write" | "read";
    ok: boolean;
    error?: string;
    /** inet_server_addr() of the server that answered. */
    addr?: string | null;
    /** pg_is_in_recovery() there. */
    rec?: boolean | null;
    /** pg_stat_wal_receiver.status there (null on a primary). */
    wal?: string | null;
    /** The acknowledged id (writes). */
    id?: string;
}

/** One poll of one pod by the sampler (superuser, one held connection per pod). */
export interface Sample {
    t: number;
    end: number;
    pod: number;
    ok: boolean;
    rec?: boolean;
    wal?: string | null;
    /** The WAL receiver's pid (null without one): a receiver that says "streaming" counts once the same one says so again. */
    walPid?: number | null;
    /** The timeline the WAL receiver receives on (standby) or the server's own (primary). */
    tli?: number | null;
}

export function readJsonLines<T>(file: string): T[] {
    let text = "";
    try {
        text = require("fs").readFileSync(file, "utf8");
    } catch {
        return [];
    }
    // The last line may be half-written while the process runs.
    return text.split("\n").filter(Boolean).flatMap((l) => {
        try {
            return [JSON.parse(l) as T];
        } catch {
            return [];
        }
    });
}

/** A steady write load from a separate process (psql in a loop), so that the test's event loop stays free. */
import { ChildProcess, spawn } from "child_process";
import { PG_BIN } from "./pod";

/**
 * A load process must not outlive the test run: left behind, it would keep writing into the next run's
 * servers, which listen on the same addresses with the same (deterministic) passwords.
 */
function killOnExit(proc: ChildProcess): void {
    const kill = () => proc.kill("SIGKILL");
    process.once("exit", kill);
    proc.once("exit", () => process.removeListener("exit", kill));
}

export class Writer {
    private proc: ChildProcess;
    private done: Promise<void>;

    /** Inserts one row per statement into `table` on the server `hosts` names (Cluster.hosts(ordinal): the
     * pod by name, verify-full against the cluster's CA), until stopped. */
    constructor(hosts: string, password: string, table: string) {
        const conninfo = `${hosts} port=5432 user=app dbname=app connect_timeout=5`;
        // A committed insert is counted by the server; failed ones (during a restart) are simply retried.
        // SIGTERM ends the loop only once the insert in flight has returned (bash runs a trap after its
        // foreground child): a test that counts rows after stop() sees no later commit.
        const script = `stop=; trap 'stop=1' TERM; while [ -z "$stop" ]; do "${PG_BIN}/psql" -X -q -c "INSERT INTO ${table} (note) VALUES ('load')" "${conninfo}" >/dev/null 2>&1 || sleep 0.2; done`;
        this.proc = spawn("bash", ["-c", script], { env: { PGPASSWORD: password, PATH: process.env.PATH }, stdio: "ignore" });
        this.done = new Promise((resolve) => this.proc.on("exit", () => resolve()));
        killOnExit(this.proc);
    }

    async stop(): Promise<void> {
        this.proc.kill("SIGTERM");
        await this.done;
    }
}

/**
 * A writer that follows the primary as clients of the read-write Service do (libpq multi-host with
 * target_session_attrs=read-write over every pod) and records each acknowledged commit's id in a file.
 */
export class AckedWriter {
    private proc: ChildProcess;
    private done: Promise<void>;

    /** `hosts`: Cluster.hosts(ordinals), every pod by name, verify-full against the cluster's CA. */
    constructor(hosts: string, password: string, table: string, readonly acksFile: string) {
        const conninfo = `${hosts} port=5432 user=app dbname=app connect_timeout=2 target_session_attrs=read-write`;
        const script = `i=0; while :; do i=$((i+1)); if "${PG_BIN}/psql" -X -q -c "INSERT INTO ${table} (id, note) VALUES ($i, 'load')" "${conninfo}" >/dev/null 2>&1; then echo $i >>"$ACKS"; else sleep 0.2; fi; done`;
        this.proc = spawn("bash", ["-c", script], { env: { PGPASSWORD: password, PATH: process.env.PATH, ACKS: acksFile }, stdio: "ignore" });
        this.done = new Promise((resolve) => this.proc.on("exit", () => resolve()));
        killOnExit(this.proc);
    }

    acked(): number[] {
        try {
            return require("fs").readFileSync(this.acksFile, "utf8").split("\n").filter(Boolean).map(Number);
        } catch {
            return [];
        }
    }

    async stop(): Promise<void> {
        this.proc.kill("SIGTERM");
        await this.done;
    }
}

/** The ids of `acked` (an AckedWriter's acknowledged commits) that `table` lacks on the server `sql` asks
 * (Cluster.sql bound to a pod), ascending: acknowledged rows a failover lost. */
export function missingAcked(sql: (query: string) => string, table: string, acked: number[]): number[] {
    if (acked.length === 0) return [];
    const ids = sql(`SELECT coalesce(string_agg(a::text, ',' ORDER BY a), '') FROM unnest(ARRAY[${acked.join(",")}]::bigint[]) a WHERE NOT EXISTS (SELECT 1 FROM ${table} WHERE id = a)`);
    return ids.split(",").filter(Boolean).map(Number);
}

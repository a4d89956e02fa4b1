/** A steady write load from a separate process (psql in a loop), so that the test's event loop stays free. */
import { ChildProcess, spawn } from "child_process";
import { PG_BIN, podAddress } from "./pod";

export class Writer {
    private proc: ChildProcess;
    private done: Promise<void>;

    /** Inserts one row per statement into `table` on the pod at `ordinal`, until stopped. */
    constructor(ordinal: number, password: string, table: string) {
        const conninfo = `host=${podAddress(ordinal)} port=5432 user=app dbname=app connect_timeout=5`;
        // A committed insert is counted by the server; failed ones (during a restart) are simply retried.
        const script = `while [ ! -e "$STOP" ]; do "${PG_BIN}/psql" -X -q -c "INSERT INTO ${table} (note) VALUES ('load')" "${conninfo}" >/dev/null 2>&1 || sleep 0.2; done`;
        this.proc = spawn("bash", ["-c", script], { env: { PGPASSWORD: password, PATH: process.env.PATH, STOP: `/proc/${process.pid}/nonexistent` }, stdio: "ignore" });
        this.done = new Promise((resolve) => this.proc.on("exit", () => resolve()));
    }

    async stop(): Promise<void> {
        this.proc.kill("SIGTERM");
        await this.done;
    }
}

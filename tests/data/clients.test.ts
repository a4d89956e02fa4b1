/**
 * Which client takes which connection-string output, against real servers: the stack outputs as the
 * component renders them (real secrets), handed to psql (libpq), pgjdbc and node-postgres run inside pod 0's
 * mount namespace, where the pod and Service DNS names in the strings resolve (the harness's /etc/hosts:
 * db-<i>.db-headless... -> pod i, db-rw... -> pod 0, db-ro... -> pod 1). Each client asks the server it
 * reached `inet_server_addr(), pg_is_in_recovery()`. The strings hold the password: they travel in the
 * env, and a failure names the output, never its value.
 */
import * as assert from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { renderComponent } from "../../render/render";
import { Cluster } from "../harness/cluster";
import { PG_BIN, podAddress } from "../harness/pod";

type Client = "psql" | "pgjdbc" | "node-postgres";
type Outputs = Record<string, any>;

const REPO = path.resolve(__dirname, "..", "..");
// The clients run in pod 0's mount namespace, where /tmp is the pod's own: a checkout under /tmp would be
// hidden there. Their files are staged where every pod sees the host's tree.
const STAGE = fs.mkdtempSync("/var/tmp/rdb-clients-");
fs.copyFileSync(path.join(REPO, "tests", "harness", "clients", "ConnectOnce.java"), path.join(STAGE, "ConnectOnce.java"));
for (const m of fs.readdirSync(path.join(REPO, "node_modules")).filter((d) => /^(pg|pg-.*|pgpass|postgres-.*|split2|xtend)$/.test(d))) {
    fs.cpSync(path.join(REPO, "node_modules", m), path.join(STAGE, "node_modules", m), { recursive: true });
}
process.once("exit", () => fs.rmSync(STAGE, { recursive: true, force: true }));
const QUERY = "SELECT host(inet_server_addr()) AS addr, pg_is_in_recovery() AS rec";
// An absolute require path: the client runs with pod 0's root, not from the repository's directory.
const PG_MODULE = path.join(STAGE, "node_modules", "pg");
const NODE_CLIENT = `
const { Client } = require(${JSON.stringify(PG_MODULE)});
(async () => {
    const client = new Client({ connectionString: process.env.CLIENT_URL, connectionTimeoutMillis: 5000 });
    await client.connect();
    const r = await client.query(${JSON.stringify(QUERY)});
    await client.end();
    console.log(r.rows[0].addr + "|" + (r.rows[0].rec ? "t" : "f"));
})().catch((e) => {
    // Only the code and message: Node's URL errors carry the whole input (and its password) in e.input.
    console.error("ERROR " + (e.code || e.name) + ": " + e.message);
    process.exit(1);
});
`;

/** Where each client finds the cluster's CA, as an application that mounts `caCertificate` points them at it
 * (docs/security.md, "Encryption in transit"): libpq PGSSLROOTCERT, Node's NODE_EXTRA_CA_CERTS, pgjdbc's sslrootcert
 * property (ConnectOnce.java, from CLIENT_SSLROOTCERT); the strings ask for verify-full themselves. */
function caEnv(): Record<string, string> {
    const ca = cluster?.caFile;
    return ca ? { PGSSLROOTCERT: ca, NODE_EXTRA_CA_CERTS: ca, CLIENT_SSLROOTCERT: ca } : {};
}
let cluster: Cluster | undefined;

function command(client: Client): string[] {
    switch (client) {
        case "psql":
            // libpq reads the URI as the dbname argument; PGCONNECT_TIMEOUT (env) bounds each host's attempt.
            return [path.join(PG_BIN, "psql"), "-X", "-q", "-A", "-t", "-F", "|", "-v", "ON_ERROR_STOP=1", "-c", QUERY];
        case "pgjdbc":
            return ["/usr/bin/java", "-XX:TieredStopAtLevel=1", "-cp", "/usr/share/java/postgresql.jar", path.join(STAGE, "ConnectOnce.java")];
        case "node-postgres":
            return [process.execPath, "-e", NODE_CLIENT];
    }
}

describe("clients against the connection-string outputs, on real PostgreSQL servers", function () {
    this.timeout(600000);
    const c = new Cluster({ args: { replicas: 2 } });
    cluster = c;
    let outputs: Outputs = {};
    const superuser = { user: "postgres", database: "postgres" };
    const recovery = (i: number) => c.psql(i, "SELECT pg_is_in_recovery()", superuser).stdout.trim();

    /** The string never leaves this process but in the client's env; everything shown is scrubbed. */
    const scrub = (text: string) => {
        const secret = c.secret("app-password");
        return secret ? text.split(secret).join("***") : text;
    };

    /** Runs `client` in pod 0's mount namespace on output `name`; returns the pod it reached and its role. */
    function connect(client: Client, name: string): { ok: true; ordinal: number; replica: boolean } | { ok: false; error: string } {
        const value = outputs[name];
        assert.strictEqual(typeof value, "string", `output ${name} is not a string`);
        const argv = command(client);
        // psql takes the string as an argument (libpq has no env variable that holds a whole URI); the run is
        // in its own PID namespace and lasts well under a second.
        if (client === "psql") argv.push(value);
        const r = spawnSync("nsenter", ["-t", String(c.pod(0).pid), "-m", "--", ...argv], {
            env: { PATH: process.env.PATH, HOME: "/root", CLIENT_URL: value, PGCONNECT_TIMEOUT: "5", ...caEnv() },
            encoding: "utf8",
            timeout: 90000,
        });
        if (r.status !== 0) return { ok: false, error: scrub(`${client} on ${name} exited ${r.status ?? r.signal}: ${(r.stderr || r.stdout || "").trim()}`) };
        const [addr, rec] = r.stdout.trim().split("|");
        const ordinal = [0, 1, 2].find((i) => podAddress(i) === addr);
        if (ordinal === undefined || (rec !== "t" && rec !== "f")) return { ok: false, error: scrub(`${client} on ${name} printed an unexpected answer: ${r.stdout.trim()}`) };
        return { ok: true, ordinal, replica: rec === "t" };
    }

    /** Connects and asserts the server reached is one of `expected` with the wanted role. */
    function reaches(client: Client, name: string, expected: number[], replica: boolean): number {
        const r = connect(client, name);
        if (!r.ok) assert.fail(r.error);
        assert.ok(expected.includes(r.ordinal), `${client} on ${name} reached db-${r.ordinal}, expected one of ${expected.map((i) => `db-${i}`).join(", ")}`);
        assert.strictEqual(r.replica, replica, `${client} on ${name} reached db-${r.ordinal}, which is ${r.replica ? "a replica" : "the primary"}`);
        return r.ordinal;
    }

    before(async () => {
        await c.up();
        // The outputs of the same args the pods run with: the passwords in the strings are the Secret's.
        outputs = (await renderComponent(c.name, c.args)).outputs;
        assert.strictEqual(outputs.appPassword, c.secret("app-password"), "the render's appPassword is not the Secret's app-password");
        for (const name of ["writeConnectionString", "readConnectionString", "writeMultiHostConnectionString", "readMultiHostConnectionString", "jdbcWriteUrl", "jdbcWriteMultiHostUrl", "jdbcReadUrl"]) {
            assert.ok(typeof outputs[name] === "string" && outputs[name].includes(c.secret("app-password")), `output ${name} does not hold the app password`);
        }
    });
    after(() => c.cleanup());

    describe("before a switchover (db-0 primary, db-1 and db-2 replicas)", () => {
        for (const client of ["psql", "node-postgres"] as Client[]) {
            it(`${client} takes writeConnectionString to the primary`, () => {
                reaches(client, "writeConnectionString", [0], false);
            });
            it(`${client} takes readConnectionString to a replica`, () => {
                reaches(client, "readConnectionString", [1], true);
            });
        }

        it("psql takes writeMultiHostConnectionString to the primary", () => {
            reaches("psql", "writeMultiHostConnectionString", [0], false);
        });
        it("psql takes readMultiHostConnectionString to a replica", () => {
            reaches("psql", "readMultiHostConnectionString", [1, 2], true);
        });

        it("pgjdbc takes jdbcWriteUrl to the primary", () => {
            reaches("pgjdbc", "jdbcWriteUrl", [0], false);
        });
        it("pgjdbc takes jdbcWriteMultiHostUrl to the primary", () => {
            reaches("pgjdbc", "jdbcWriteMultiHostUrl", [0], false);
        });
        it("pgjdbc takes jdbcReadUrl to a replica, spreading connections over both (loadBalanceHosts)", () => {
            const seen = new Set<number>();
            for (let i = 0; i < 12 && seen.size < 2; i++) seen.add(reaches("pgjdbc", "jdbcReadUrl", [1, 2], true));
            assert.deepStrictEqual([...seen].sort(), [1, 2], "12 connections all went to one replica");
        });

        for (const name of ["writeMultiHostConnectionString", "readMultiHostConnectionString"]) {
            it(`node-postgres refuses ${name} (its URI parser fails on a host list)`, () => {
                const r = connect("node-postgres", name);
                assert.ok(!r.ok, `node-postgres connected with ${name}: docs/configuration.md says it cannot`);
                assert.match(r.error, /ERR_INVALID_URL/);
            });
        }
    });

    // A replica that stops streaming refuses application logins (the gate). What each client does when the
    // first replica of a read string refuses: db-1's startup process is frozen (SIGSTOP), so that it cannot
    // restart the WAL receiver we then stop; db-1 stops streaming and gates itself, db-2 streams on. Kept
    // well under the 20 s after which the supervisor would stop the server to check for a forked history.
    describe("db-1 stale (not streaming, gated), db-2 streaming", () => {
        let startup = 0;
        before(async () => {
            startup = Number(c.sql(1, "SELECT pid FROM pg_stat_activity WHERE backend_type = 'startup'", superuser));
            const walReceiver = Number(c.sql(1, "SELECT pid FROM pg_stat_wal_receiver", superuser));
            assert.ok(startup > 0 && walReceiver > 0, "db-1 has no startup process or WAL receiver");
            process.kill(startup, "SIGSTOP");
            process.kill(walReceiver, "SIGTERM");
            await c.until("db-1 to refuse application logins", () => /pg_hba\.conf rejects connection/.test(c.psql(1, "SELECT 1").stderr), 15000);
            assert.strictEqual(c.psql(2, "SELECT 1").status, 0, "db-2 refuses logins too");
        });
        after(async () => {
            if (startup) process.kill(startup, "SIGCONT");
            await c.until("db-1 to let the application in again", () => c.psql(1, "SELECT 1").status === 0, 60000);
        });

        it("psql on readMultiHostConnectionString stops at db-1's refusal and does not try db-2 (libpq)", () => {
            for (let i = 0; i < 3; i++) {
                const r = connect("psql", "readMultiHostConnectionString");
                assert.ok(!r.ok, `psql reached db-${r.ok ? r.ordinal : "?"} past the refusing db-1`);
                assert.match(r.error, /db-1\.db-headless[^\n]*pg_hba\.conf rejects connection/);
            }
        });
        // loadBalanceHosts shuffles the two hosts: connect until db-1's log shows pgjdbc tried it (and was
        // refused) at least once, every connection landing on db-2.
        it("pgjdbc on jdbcReadUrl goes on to db-2 after db-1 refuses", () => {
            const refusals = () => (fs.readFileSync(c.logFile(1), "utf8").match(/pg_hba\.conf rejects connection for host "[^"]+", user "app", database "app"/g) ?? []).length;
            const before = refusals();
            for (let i = 0; i < 8 && refusals() === before; i++) reaches("pgjdbc", "jdbcReadUrl", [2], true);
            assert.ok(refusals() > before, "in 8 connections pgjdbc never tried db-1 first");
        });
    });

    describe("after a switchover to db-1, with the strings rendered before it", () => {
        before(async () => {
            await c.apply({ primaryOrdinal: 1 });
            await c.until("db-1 to take writes and db-0, db-2 to be its replicas", () => recovery(1) === "f" && recovery(0) === "t" && recovery(2) === "t", 120000);
        });

        // db-0 is listed first and, until it streams from db-1, refuses application logins (the gate). libpq
        // ends the whole attempt at that refusal instead of trying db-1 (measured in the stale-replica test
        // above), so the string works again only once db-0 streams: seconds after the switchover.
        it("psql on writeMultiHostConnectionString finds the new primary (once db-0, listed first, streams again)", async () => {
            let refused = 0;
            let last = "";
            await c.until("psql on writeMultiHostConnectionString to connect", () => {
                const r = connect("psql", "writeMultiHostConnectionString");
                if (r.ok) return true;
                last = r.error;
                assert.match(r.error, /db-0\.db-headless[^\n]*pg_hba\.conf rejects connection/, "psql failed for another reason than db-0's gate");
                refused++;
                return false;
            }, 60000).catch((err) => assert.fail(`${err.message.split("\n")[0]}; last: ${last}`));
            console.log(`      (psql was refused by the gated db-0 ${refused} time(s) before it reached the new primary)`);
            for (let i = 0; i < 3; i++) reaches("psql", "writeMultiHostConnectionString", [1], false);
        });
        it("pgjdbc on jdbcWriteMultiHostUrl finds the new primary", () => {
            reaches("pgjdbc", "jdbcWriteMultiHostUrl", [1], false);
        });

        // The read strings list db-1 and db-2; db-1 is the primary now, so only db-2 qualifies. It may refuse
        // clients for a moment while it switches to the new primary's stream (the gate), hence the wait.
        for (const [client, name] of [["psql", "readMultiHostConnectionString"], ["pgjdbc", "jdbcReadUrl"]] as [Client, string][]) {
            it(`${client} on ${name} skips the new primary and reaches db-2`, async () => {
                let last = "";
                await c.until(`${client} on ${name} to reach a replica`, () => {
                    const r = connect(client, name);
                    last = r.ok ? `db-${r.ordinal} (${r.replica ? "replica" : "primary"})` : r.error;
                    return r.ok;
                }, 60000).catch((err) => assert.fail(`${err.message.split("\n")[0]}; last: ${last}`));
                for (let i = 0; i < 3; i++) reaches(client, name, [2], true);
            });
        }
    });
});

/**
 * Application load around a Cluster, connected the way applications connect: through the rw and ro
 * Services (proxies that follow role labels and readiness), libpq and pgjdbc multi-host strings, and held
 * connections that stay on their pod. Every client is a process of its own that logs each operation
 * (protocol.ts); a sampler watches every pod's recovery state about every 20 ms. analysis.ts reads the logs.
 */
import { ChildProcess, fork, spawn } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { Cluster } from "../cluster";
import { SERVICE_PORT, Service, labelledReadyEndpoints } from "../service";
import { ClientSpec } from "./protocol";

const JDBC_JAR = "/usr/share/java/postgresql.jar";

/** Clients whose reads must come from a streaming standby (the read paths an application is given). The
 * direct per-pod readers are left out: nothing but a stopped server can turn a direct connection away. */
export const GATED_READERS = ["psql-standby", "pg-ro", "jdbc-secondary"];

export interface LoadOptions {
    /** Ordinals of the pods; the read strings list the replicas of the first render (all but primary). */
    ordinals: number[];
    primary: number;
    patroni: boolean;
    dir: string;
}

function killOnExit(proc: ChildProcess): void {
    const kill = () => proc.kill("SIGKILL");
    process.once("exit", kill);
    proc.once("exit", () => process.removeListener("exit", kill));
}

export class Load {
    readonly services: Service[] = [];
    private readonly procs: ChildProcess[] = [];
    readonly events: { t: number; label: string }[] = [];
    readonly specs: ClientSpec[];

    constructor(private readonly c: Cluster, private readonly opts: LoadOptions) {
        fs.mkdirSync(opts.dir, { recursive: true });
        // Each child process adds an exit listener that kills it with the test run.
        process.setMaxListeners(Math.max(process.getMaxListeners(), 64));
        const log = (name: string) => path.join(opts.dir, `${name}.jsonl`);
        // By name, as applications are given them, so that TLS clients can verify the server (verify-full).
        const all = opts.ordinals.map((i) => c.host(i));
        const replicas = opts.ordinals.filter((i) => i !== opts.primary).map((i) => c.host(i));
        const ca = c.caFile;
        const libpqTls = ca ? ` sslmode=verify-full sslrootcert=${ca}` : "";
        const jdbcTls = ca ? `&sslmode=verify-full&sslrootcert=${ca}` : "";
        const libpq = (hosts: string[], attrs: string) => `host=${hosts.join(",")} port=5432 user=app dbname=app connect_timeout=2 target_session_attrs=${attrs}${libpqTls}`;
        const jdbc = (hosts: string[], params: string) => `jdbc:postgresql://${hosts.map((h) => `${h}:5432`).join(",")}/app?${params}${jdbcTls}`;
        const w = (name: string, s: Partial<ClientSpec>): ClientSpec => ({ name, kind: "write", driver: "psql", intervalMs: 500, log: log(name), ...s });
        const r = (name: string, s: Partial<ClientSpec>): ClientSpec => ({ name, kind: "read", driver: "psql", intervalMs: 200, log: log(name), ...s });
        this.specs = [
            w("psql-rw", { conninfo: libpq([c.serviceHost("rw")], "any") }),
            w("psql-multi", { conninfo: libpq(all, "read-write") }),
            w("pg-rw", { driver: "pg", host: c.serviceHost("rw"), port: SERVICE_PORT, caFile: ca }),
            w("jdbc-primary", { driver: "jdbc", conninfo: jdbc(all, "targetServerType=primary") }),
            r("psql-standby", { conninfo: libpq(replicas, "standby") }),
            r("pg-ro", { driver: "pg", host: c.serviceHost("ro"), port: SERVICE_PORT, intervalMs: 100, caFile: ca }),
            r("jdbc-secondary", { driver: "jdbc", conninfo: jdbc(replicas, "targetServerType=secondary&loadBalanceHosts=true") }),
            ...opts.ordinals.map((i) => r(`direct-${i}`, { driver: "pg", host: c.host(i), port: 5432, intervalMs: 50, caFile: ca })),
        ];
    }

    get samplesFile(): string {
        return path.join(this.opts.dir, "samples.jsonl");
    }

    /** Starts the Services, the sampler and every client; resolves when each writer has an acknowledged row. */
    async start(): Promise<void> {
        const endpoints = labelledReadyEndpoints(this.c, this.opts.patroni);
        for (const name of ["rw", "ro"] as const) {
            const s = new Service(name, endpoints, path.join(this.opts.dir, `service-${name}.log`));
            this.services.push(s);
            await s.start();
        }
        const ts = ["-r", "ts-node/register/transpile-only"];
        const out = fs.openSync(path.join(this.opts.dir, "processes.log"), "a");
        const stdio = ["ignore", out, out, "ipc"] as const;
        this.track(
            fork(path.join(__dirname, "sampler.ts"), [this.samplesFile, "20", ...this.opts.ordinals.map((i) => this.c.host(i))], {
                execArgv: ts,
                env: { ...process.env, SAMPLER_PASSWORD: this.c.secret("superuser-password"), SAMPLER_CA_FILE: this.c.caFile ?? "" },
                stdio: [...stdio],
            }),
        );
        const env = { PATH: process.env.PATH, CLIENT_PASSWORD: this.c.secret("app-password") };
        for (const spec of this.specs) {
            if (spec.driver === "jdbc") {
                const args = ["-Xmx64m", "-XX:TieredStopAtLevel=1", "-cp", JDBC_JAR, path.join(__dirname, "JdbcClient.java"), spec.name, spec.kind, spec.conninfo!, String(spec.intervalMs), spec.log];
                this.track(spawn("java", args, { env, stdio: ["ignore", out, out] }));
            } else {
                this.track(fork(path.join(__dirname, "client.ts"), [JSON.stringify(spec)], { execArgv: ts, env, stdio: [...stdio] }));
            }
        }
        fs.closeSync(out);
        await this.untilAcked(1, 90000);
        this.mark("load running");
    }

    private track(p: ChildProcess): void {
        this.procs.push(p);
        killOnExit(p);
    }

    /** Records an event (a switchover, a kill) for the per-event figures. */
    mark(label: string): void {
        this.events.push({ t: Date.now(), label });
    }

    /** Acknowledged writes so far, per writer. */
    acked(): Map<string, number> {
        const counts = new Map<string, number>();
        for (const s of this.specs.filter((x) => x.kind === "write")) {
            const text = fs.existsSync(s.log) ? fs.readFileSync(s.log, "utf8") : "";
            counts.set(s.name, (text.match(/"ok":true/g) ?? []).length);
        }
        return counts;
    }

    /** Waits until every writer has at least `n` acknowledged writes more than `from` (its count then). */
    async untilAcked(n: number, timeoutMs: number, from = new Map<string, number>()): Promise<void> {
        const deadline = Date.now() + timeoutMs;
        for (;;) {
            const short = [...this.acked()].filter(([name, k]) => k < (from.get(name) ?? 0) + n).map(([name]) => name);
            if (short.length === 0) return;
            if (Date.now() > deadline) throw new Error(`writers without ${n} new acknowledged writes after ${timeoutMs} ms: ${short.join(", ")}`);
            await new Promise((r) => setTimeout(r, 500));
        }
    }

    async stop(): Promise<void> {
        for (const p of this.procs) {
            if (p.exitCode === null && p.signalCode === null) {
                const gone = new Promise((r) => p.once("exit", r));
                p.kill("SIGKILL");
                await gone;
            }
        }
        for (const s of this.services) await s.stop();
    }
}

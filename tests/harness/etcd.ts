/**
 * Debian's etcd, started by the harness's isolation fixture (isolation-fixture.ts) as a server of the run's own
 * beside its pod, so that tests/data/harness.test.ts can show that a killed run leaves no server behind.
 *
 * It is no longer Patroni's store in any test: Patroni runs on its Kubernetes store, the real API server of the
 * harness's node (node.ts). Until December 2026 the Patroni tests ran on this etcd's v2 API instead.
 */
import { ChildProcess, spawn } from "child_process";
import * as fs from "fs";
import * as path from "path";

export const ETCD_ADDRESS = "127.0.0.9";
export const ETCD_CLIENT_PORT = 2379;

export class Etcd {
    private proc?: ChildProcess;
    private exited?: Promise<void>;
    readonly dataDir: string;

    constructor(base: string) {
        this.dataDir = path.join(base, "etcd");
    }

    get endpoint(): string {
        return `${ETCD_ADDRESS}:${ETCD_CLIENT_PORT}`;
    }

    async start(log: string): Promise<void> {
        fs.mkdirSync(this.dataDir, { recursive: true, mode: 0o700 });
        const out = fs.openSync(log, "a");
        const client = `http://${this.endpoint}`;
        const peer = `http://${ETCD_ADDRESS}:${ETCD_CLIENT_PORT + 1}`;
        this.proc = spawn(
            "etcd",
            [
                "--name", "test", "--data-dir", this.dataDir,
                "--listen-client-urls", client, "--advertise-client-urls", client,
                "--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer,
                "--initial-cluster", `test=${peer}`, "--enable-v2=true",
            ],
            { stdio: ["ignore", out, out] },
        );
        fs.closeSync(out);
        const proc = this.proc;
        this.exited = new Promise((resolve) => proc.on("exit", () => resolve()));
        // Dies with the test run, like the load processes: a leftover store would serve a later run's Patroni.
        const kill = () => proc.kill("SIGKILL");
        process.once("exit", kill);
        proc.once("exit", () => process.removeListener("exit", kill));
        const deadline = Date.now() + 30000;
        while (Date.now() < deadline) {
            if (proc.exitCode !== null) throw new Error(`etcd exited (${proc.exitCode}); see ${log}`);
            try {
                const r = await fetch(`${client}/health`);
                if (r.ok) return;
            } catch {
                /* not listening yet */
            }
            await new Promise((resolve) => setTimeout(resolve, 200));
        }
        throw new Error(`etcd did not become healthy within 30 s; see ${log}`);
    }

    async stop(): Promise<void> {
        if (!this.proc || this.proc.exitCode !== null) return;
        this.proc.kill("SIGKILL");
        await this.exited;
    }
}

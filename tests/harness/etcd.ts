/**
 * etcd from Debian, standing in for the Kubernetes API as Patroni's store in the tests: Patroni's leader
 * election, member keys and failover logic are the same over either store; what only the Kubernetes store
 * does (ConfigMap leader lock, pod role labels, RBAC) is checked in the render, not here.
 *
 * Patroni talks to it over etcd's v2 API (Patroni's `etcd` store), the store the tests' timing figures were
 * measured on. Both of Patroni's etcd stores work with Debian's etcd (3.4, v2 API enabled with --enable-v2) at
 * the image's Patroni (tools/versions.env), and both renew the leader key the way the Kubernetes store does:
 * conditionally. Patroni 4.1:
 * - kubernetes.py `update_leader`: gives up when its cached leader ConfigMap names another member, else
 *   patches the ConfigMap with the cached resourceVersion (the API server refuses a stale one with 409),
 *   and on a 409 re-reads it and retries only if it still names this member;
 * - etcd.py `_do_update_leader`: writes the key with prevValue=<this member> (etcd refuses if another
 *   member holds it) and creates it with prevExist=false only when it is gone;
 * - etcd3.py `_update_leader`: a transaction that puts the key if its value is this member, else creates it
 *   only if it does not exist (create_revision 0).
 * Patroni 3.0.2 (Debian's package, which the tests ran before) lacked the last: after a lost lease its etcd3
 * store put the key with no comparison from the cluster view it read before it stalled, overwriting a newer
 * leader's key (fixed upstream in 3.0.3, #2689), and a primary whose loop stalled past ttl
 * (tests/data/patroni-pause.test.ts) lost acknowledged commits over etcd3. etcd 3.6 and later serve no v2
 * API: a harness on such an etcd would switch this to `etcd3`.
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

/**
 * The rendered Patroni configuration with its Kubernetes store swapped for etcd's v2 API (see above): the
 * one change the tests make to Patroni's configuration (besides the listen addresses), named in docs/testing.md.
 *
 * `use_proxies`: Patroni talks to the one endpoint it is given, as its Kubernetes store talks to the API
 * server's Service (KUBERNETES_SERVICE_HOST; the render leaves `bypass_api_service` at its default, false).
 * Without it, Patroni's etcd client follows every failed request with a request for etcd's member list, which
 * the Kubernetes store does not: a store outage then cost the primary a second `retry_timeout` per failure
 * before it demoted (measured: 10.6 s instead of 5 s with retry_timeout 5, and 20 s in one run).
 */
export function withEtcdStore(patroniYml: string, endpoint: string): string {
    const config = JSON.parse(patroniYml);
    if (!config.kubernetes) throw new Error("the rendered Patroni configuration has no kubernetes store");
    delete config.kubernetes;
    config.etcd = { hosts: [endpoint], use_proxies: true };
    return JSON.stringify(config, null, 2) + "\n";
}

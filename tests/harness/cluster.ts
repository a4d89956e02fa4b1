/**
 * A rendered ReplicatedDatabase played on this machine: one Pod per ordinal, the headless Service's DNS
 * names in each pod's /etc/hosts, probes run as rendered, and the day-to-day operations a cluster sees
 * (restarts, kills, scaling, Secret changes). Everything it starts or writes goes in cleanup().
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { ReplicatedDatabaseArgs } from "../../components/args";
import { renderComponent } from "../../render/render";
import { Etcd, withEtcdStore } from "./etcd";
import { PodObjects, podObjects } from "./kubelet";
import { PG_BIN, Pod, podAddress } from "./pod";

export interface ClusterOptions {
    name?: string;
    args?: ReplicatedDatabaseArgs;
    /** Restart a container that exits on its own, as the kubelet's restartPolicy Always does. @default false */
    restartExited?: boolean;
}

/** Small servers: the suite starts many on 2 cores. */
export const SMALL: ReplicatedDatabaseArgs = {
    resources: { cpuRequest: "100m", memoryRequest: "128Mi", memoryLimit: "256Mi" },
    parameters: { max_connections: "40", wal_keep_size: "32MB", checkpoint_timeout: "30s" },
};

export class Cluster {
    readonly name: string;
    readonly base: string;
    readonly pods = new Map<number, Pod>();
    args: ReplicatedDatabaseArgs;
    objects!: PodObjects;
    private namespace = "default";
    private readonly restartExited: boolean;
    /** Ordinals the test wants running (started and not stopped by the test). */
    private readonly wanted = new Set<number>();

    constructor(options: ClusterOptions = {}) {
        this.restartExited = options.restartExited ?? false;
        this.name = options.name ?? "db";
        this.args = { ...SMALL, ...options.args };
        // Not under /tmp: each pod mounts its own /tmp, which would hide the sources of its other mounts.
        this.base = fs.mkdtempSync(path.join("/var/tmp", "rdb-cluster-"));
        fs.chmodSync(this.base, 0o755);
    }

    get replicas(): number {
        return this.args.replicas ?? 2;
    }

    /** Renders the component for the current args (what `pulumi up` would apply). */
    async render(): Promise<void> {
        const r = await renderComponent(this.name, this.args);
        this.objects = podObjects(r.manifests);
        await this.useEtcdForPatroni();
        this.namespace = this.objects.statefulSet.metadata.namespace ?? "default";
        this.writeHosts();
    }

    /** The cluster's etcd, started when the render runs Patroni. */
    etcd?: Etcd;

    /** With automatedFailover, Patroni's store: etcd on loopback instead of the Kubernetes API. */
    private async useEtcdForPatroni(): Promise<void> {
        for (const data of this.objects.configMaps.values()) {
            if (!data["patroni.yml"]) continue;
            if (!this.etcd) {
                this.etcd = new Etcd(this.base);
                await this.etcd.start(path.join(this.base, "etcd.log"));
            }
            data["patroni.yml"] = withEtcdStore(data["patroni.yml"], this.etcd.endpoint);
        }
    }

    /** Pod DNS names (and the Services, for completeness) resolve to the pods' loopback addresses. */
    private writeHosts(): void {
        const domain = `${this.namespace}.svc.cluster.local`;
        const lines = ["127.0.0.1 localhost"];
        for (let i = 0; i <= Math.max(this.replicas, 8); i++) {
            lines.push(`${podAddress(i)} ${this.name}-${i}.${this.name}-headless.${domain}`);
        }
        lines.push(`${podAddress(0)} ${this.name}-rw.${domain}`, `${podAddress(1)} ${this.name}-ro.${domain}`);
        fs.writeFileSync(this.hostsFile, lines.join("\n") + "\n", { mode: 0o644 });
    }

    get hostsFile(): string {
        return path.join(this.base, "hosts");
    }

    /** /etc files of every pod: the DNS names, and users and groups as in the image, whose postgres is 999. */
    get etc(): Record<string, string> {
        const uid = this.objects.statefulSet.spec.template.spec.securityContext.runAsUser;
        const write = (file: string, line: string) => {
            const target = path.join(this.base, file);
            const host = fs.readFileSync(`/etc/${file}`, "utf8").split("\n").filter((l) => l && !l.startsWith("postgres:"));
            fs.writeFileSync(target, [...host, line].join("\n") + "\n", { mode: 0o644 });
            return target;
        };
        return {
            hosts: this.hostsFile,
            passwd: write("passwd", `postgres:x:${uid}:${uid}:PostgreSQL administrator:/var/lib/postgresql:/bin/bash`),
            group: write("group", `postgres:x:${uid}:`),
        };
    }

    pod(ordinal: number): Pod {
        let p = this.pods.get(ordinal);
        if (!p) {
            p = new Pod(`${this.name}-${ordinal}`, ordinal, this.namespace, this.base, this.etc);
            this.pods.set(ordinal, p);
        }
        return p;
    }

    logFile(ordinal: number): string {
        return path.join(this.base, `${this.name}-${ordinal}.log`);
    }

    start(ordinal: number): Pod {
        this.wanted.add(ordinal);
        const p = this.pod(ordinal);
        p.start(this.objects, this.logFile(ordinal));
        return p;
    }

    private probing?: NodeJS.Timeout;

    /** Runs every running pod's readiness probe every 2 s in the background, as the kubelet does: the
     * probe is also what keeps roles, passwords and slots current. */
    startProbing(): void {
        if (this.probing) return;
        const busy = new Set<number>();
        this.probing = setInterval(() => {
            for (const [i, p] of this.pods) {
                if (this.restartExited && this.wanted.has(i) && !p.running) {
                    this.start(i);
                    continue;
                }
                if (!p.running || busy.has(i)) continue;
                busy.add(i);
                p.probeAsync("readinessProbe").finally(() => busy.delete(i));
            }
        }, 2000);
    }

    /** Renders and starts every pod at once (podManagementPolicy Parallel). */
    async up(): Promise<void> {
        await this.render();
        this.startProbing();
        for (let i = 0; i <= this.replicas; i++) this.start(i);
        await Promise.all(Array.from({ length: this.replicas + 1 }, (_, i) => this.waitReady(i)));
    }

    /** Runs the readiness probe as the kubelet would until it passes. */
    async waitReady(ordinal: number, timeoutMs = 120000): Promise<void> {
        const p = this.pod(ordinal);
        const deadline = Date.now() + timeoutMs;
        let last = "";
        while (Date.now() < deadline) {
            if (!p.running) throw new Error(`${p.name} exited:\n${this.tail(ordinal)}`);
            const r = p.probe("readinessProbe");
            if (r.ok) return;
            last = r.output;
            await sleep(500);
        }
        throw new Error(`${p.name} not ready after ${timeoutMs} ms (last probe: ${last.trim()})\n${this.tail(ordinal)}`);
    }

    /** Stops a pod as the test asks (it stays down, whatever the restart policy). */
    async stop(ordinal: number, signal: NodeJS.Signals): Promise<void> {
        this.wanted.delete(ordinal);
        await this.pod(ordinal).stop(signal);
    }

    async restart(ordinal: number, signal: NodeJS.Signals): Promise<void> {
        await this.pod(ordinal).stop(signal);
        this.start(ordinal);
    }

    /** Changes the args and applies them as `pulumi up` and the kubelet would: ConfigMaps and Secrets
     * refresh in running pods, new ordinals start, removed ones stop (their volumes stay). */
    async apply(args: ReplicatedDatabaseArgs): Promise<void> {
        const before = this.replicas;
        this.args = { ...this.args, ...args };
        await this.render();
        for (const [i, p] of this.pods) {
            if (p.running && i <= this.replicas) p.materialise(this.objects, false);
        }
        for (let i = this.replicas + 1; i <= before; i++) await this.stop(i, "SIGINT");
        for (let i = before + 1; i <= this.replicas; i++) this.start(i);
    }

    secret(key: "superuser-password" | "replication-password" | "app-password"): string {
        const s = [...this.objects.secrets.values()][0];
        return s[key];
    }

    /** psql over TCP to a pod's address as a client would; throws with psql's message on failure. */
    sql(ordinal: number, query: string, opts: { user?: string; password?: string; database?: string } = {}): string {
        const r = this.psql(ordinal, query, opts);
        if (r.status !== 0) throw new Error(`psql on ${this.name}-${ordinal}: ${r.stderr.trim()}`);
        return r.stdout.trim();
    }

    psql(ordinal: number, query: string, opts: { user?: string; password?: string; database?: string; replication?: boolean } = {}) {
        const user = opts.user ?? "app";
        const password = opts.password ?? this.secret(user === "postgres" ? "superuser-password" : user === "replicator" ? "replication-password" : "app-password");
        const conninfo = `host=${podAddress(ordinal)} port=5432 user=${user} dbname=${opts.database ?? "app"} connect_timeout=5${opts.replication ? " replication=true" : ""}`;
        return spawnSync(path.join(PG_BIN, "psql"), ["-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-c", query, conninfo], {
            env: { PGPASSWORD: password, PATH: process.env.PATH, PGCONNECT_TIMEOUT: "5" },
            encoding: "utf8",
            timeout: 30000,
        });
    }

    /** Waits until `check` returns true, polling; fails with `what` and the logs of every pod. */
    async until(what: string, check: () => boolean, timeoutMs = 60000): Promise<void> {
        const deadline = Date.now() + timeoutMs;
        while (Date.now() < deadline) {
            try {
                if (check()) return;
            } catch {
                /* not yet */
            }
            await sleep(300);
        }
        throw new Error(`timed out waiting for ${what}\n${[...this.pods.keys()].map((i) => this.tail(i)).join("\n")}`);
    }

    tail(ordinal: number, lines = 30): string {
        const f = this.logFile(ordinal);
        if (!fs.existsSync(f)) return `(no log for ${this.name}-${ordinal})`;
        return `--- ${this.name}-${ordinal} ---\n` + fs.readFileSync(f, "utf8").split("\n").slice(-lines).join("\n");
    }

    /** Stops every pod and removes every file the cluster made. */
    async cleanup(): Promise<void> {
        if (this.probing) clearInterval(this.probing);
        this.wanted.clear();
        for (const p of this.pods.values()) {
            try {
                await p.stop("SIGKILL", 10000);
            } catch {
                p.killGroup();
            }
        }
        await this.etcd?.stop();
        fs.rmSync(this.base, { recursive: true, force: true });
        // The mount points made on the host stay: removing one detaches that mount in every other mount
        // namespace, including the pods of another run on this machine.
    }
}

export function sleep(ms: number): Promise<void> {
    return new Promise((resolve) => setTimeout(resolve, ms));
}

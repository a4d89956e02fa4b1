/**
 * The rendered connection pooler played on this machine (docs/pooler.md): one pod of a pooler
 * Deployment, run as its container would run. The rendered command (`pooler.sh`) with the rendered env,
 * under the rendered uid and gid, in a private mount namespace where every rendered mount path is a bind mount
 * of a directory holding that volume's files (the pooler ConfigMap, the pooler role's key of the cluster's
 * Secret, the TLS Secret, an emptyDir). The binary is Debian's `pgbouncer` (1.18) in place of the image's.
 * The only override: `listen_addr` (rendered `*`) is the pooler Service's address, 127.0.0.7 for `rw` and
 * 127.0.0.4 for `ro`, which the run's /etc/hosts gives the pooler Service's name, so that clients dial it by
 * name with verify-full. PgBouncer reaches the database through the harness's Service proxies (service.ts)
 * by the Service's name, as in a cluster.
 */
import { ChildProcess, spawn } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { renderComponent } from "../../render/render";
import { Manifest } from "../../render/manifests";
import type { Rendered } from "../../render/render";
import { Cluster, sleep } from "./cluster";
import { resolveEnv } from "./kubelet";

export type PooledService = "rw" | "ro";
export const POOLER_ADDRESS: Record<PooledService, string> = { rw: "127.0.0.7", ro: "127.0.0.4" };
export const POOLER_PORT = 5432;

function killOnExit(proc: ChildProcess): void {
    const kill = () => proc.kill("SIGKILL");
    process.once("exit", kill);
    proc.once("exit", () => process.removeListener("exit", kill));
}

/** Appends `address name` to the run's /etc/hosts (isolated.sh's private copy), in place: it is a bind mount. */
function addRunHost(address: string, name: string): void {
    if (!process.env.RDB_RUN_HOSTS) throw new Error("RDB_RUN_HOSTS is not set: run through tests/harness/isolated.sh");
    const kept = fs.readFileSync("/etc/hosts", "utf8").split("\n").filter((l) => l && l.trim().split(/\s+/)[1] !== name);
    fs.writeFileSync("/etc/hosts", [...kept, `${address} ${name}`].join("\n") + "\n");
}

export class PoolerPod {
    readonly dir: string;
    private proc?: ChildProcess;
    private exited?: Promise<number | null>;
    deployment!: Manifest;
    /** The rendered outputs (the pooled connection strings among them), with the real passwords. */
    outputs!: Record<string, any>;

    constructor(private readonly c: Cluster, readonly service: PooledService) {
        this.dir = fs.mkdtempSync(path.join(c.base, `pooler-${service}-`));
        fs.chmodSync(this.dir, 0o755);
    }

    get logFile(): string {
        return path.join(this.c.base, `pooler-${this.service}.log`);
    }

    /** The pooler Service's DNS name, which the server certificate carries. */
    get host(): string {
        return `${this.deployment.metadata.name}.${this.deployment.metadata.namespace}.svc.cluster.local`;
    }

    get address(): string {
        return POOLER_ADDRESS[this.service];
    }

    /** Renders the cluster's current args (real TLS) and writes each volume's files; with `only`, that
     * volume's alone, each file renamed into place as the kubelet swaps a refreshed Secret's files. */
    private async layout(only?: string): Promise<{ r: Rendered; mounts: string[]; configMaps: Map<string, any>; secrets: Map<string, any> }> {
        process.env.RDB_RENDER_REAL_TLS = "1";
        const r = await renderComponent(this.c.name, this.c.args);
        this.outputs = r.outputs;
        const name = `${this.c.name}-pooler-${this.service}`;
        const d = r.manifests.find((m) => m.kind === "Deployment" && m.metadata.name === name);
        if (!d) throw new Error(`the render has no Deployment ${name}`);
        this.deployment = d;
        const spec = d.spec.template.spec;
        const container = spec.containers[0];
        const configMaps = new Map(r.manifests.filter((m) => m.kind === "ConfigMap").map((m) => [m.metadata.name, m.data ?? {}]));
        const secrets = new Map(r.manifests.filter((m) => m.kind === "Secret").map((m) => [m.metadata.name, { ...(m.stringData ?? {}) }]));
        const gid: number = spec.securityContext.fsGroup;
        const mounts: string[] = [];
        for (const m of container.volumeMounts) {
            const v = spec.volumes.find((x: any) => x.name === m.name);
            const dir = path.join(this.dir, m.name);
            mounts.push(dir, m.mountPath);
            if (only !== undefined && m.name !== only) continue;
            fs.mkdirSync(dir, { recursive: true });
            if (v.emptyDir) {
                // The kubelet's emptyDir under an fsGroup: group-owned, setgid, group-writable.
                fs.chownSync(dir, 0, gid);
                fs.chmodSync(dir, 0o2770);
                continue;
            }
            const source = v.configMap ? configMaps.get(v.configMap.name) : secrets.get(v.secret.secretName);
            if (!source) throw new Error(`no object for volume ${m.name}`);
            const items: { key: string; path: string }[] = (v.configMap ?? v.secret).items ?? Object.keys(source).map((k) => ({ key: k, path: k }));
            for (const it of items) {
                if (source[it.key] === undefined) throw new Error(`volume ${m.name}: no key ${it.key}`);
                let text: string = source[it.key];
                if (it.path.endsWith(".ini")) text = text.replace(/^listen_addr = .*$/m, `listen_addr = ${this.address}`);
                const file = path.join(dir, it.path);
                fs.writeFileSync(`${file}.new`, text);
                fs.chownSync(`${file}.new`, 0, gid);
                fs.chmodSync(`${file}.new`, (v.configMap ?? v.secret).defaultMode ?? 0o644);
                fs.renameSync(`${file}.new`, file);
            }
        }
        return { r, mounts, configMaps, secrets };
    }

    /** What the kubelet does after `pulumi up` changed the Secret: the running pod's Secret files are replaced. */
    async refreshSecret(): Promise<void> {
        await this.layout("secret");
    }

    /** A hand edit of one key of the pod's mounted Secret (`kubectl edit`), the file swapped as the kubelet does;
     * refreshSecret() lays out the render's value again. */
    editSecret(key: string, value: string): void {
        const file = path.join(this.dir, "secret", key);
        const st = fs.statSync(file);
        fs.writeFileSync(`${file}.new`, value);
        fs.chownSync(`${file}.new`, st.uid, st.gid);
        fs.chmodSync(`${file}.new`, st.mode & 0o7777);
        fs.renameSync(`${file}.new`, file);
    }

    /** Renders, lays out the volumes, starts the container and waits until it accepts connections. */
    async start(): Promise<void> {
        const { mounts, configMaps, secrets } = await this.layout();
        const d = this.deployment;
        const name = d.metadata.name;
        const spec = d.spec.template.spec;
        const container = spec.containers[0];
        const env = resolveEnv({ statefulSet: d, configMaps, secrets }, container, `${name}-0`, d.metadata.namespace ?? "default");
        const sc = spec.securityContext;
        const script = 'set -e; while [ "$1" != "--" ]; do mkdir -p "$2"; mount --bind "$1" "$2"; shift 2; done; shift; exec "$@"';
        const out = fs.openSync(this.logFile, "a");
        this.proc = spawn(
            "unshare",
            ["-m", "--propagation", "private", "bash", "-c", script, "mounts", ...mounts, "--",
             "setpriv", `--reuid=${sc.runAsUser}`, `--regid=${sc.runAsGroup}`, `--groups=${sc.fsGroup}`, "--", ...container.command],
            { env: { ...env, PATH: "/usr/sbin:/usr/bin:/sbin:/bin", RDB_POOLER_CHECK_SECONDS: "1" }, stdio: ["ignore", out, out] },
        );
        fs.closeSync(out);
        killOnExit(this.proc);
        const proc = this.proc;
        this.exited = new Promise((resolve) => proc.once("exit", (code) => resolve(code)));
        addRunHost(this.address, this.host);
        await this.waitListening();
    }

    private async waitListening(timeoutMs = 20000): Promise<void> {
        const deadline = Date.now() + timeoutMs;
        while (Date.now() < deadline) {
            if (this.proc?.exitCode !== null) throw new Error(`the pooler exited:\n${this.tail()}`);
            const ok = await new Promise<boolean>((resolve) => {
                const s = require("net").connect(POOLER_PORT, this.address);
                s.once("connect", () => { s.destroy(); resolve(true); });
                s.once("error", () => resolve(false));
            });
            if (ok) return;
            await sleep(200);
        }
        throw new Error(`the pooler does not listen on ${this.address}:${POOLER_PORT}\n${this.tail()}`);
    }

    /** The kubelet's stop: SIGTERM (pooler.sh makes it PgBouncer's safe shutdown); the container's exit code. */
    async stop(): Promise<number | null> {
        if (!this.proc || this.proc.exitCode !== null) return this.proc?.exitCode ?? null;
        this.proc.kill("SIGTERM");
        const timer = setTimeout(() => this.proc?.kill("SIGKILL"), 30000);
        const code = await this.exited!;
        clearTimeout(timer);
        return code;
    }

    tail(lines = 40): string {
        if (!fs.existsSync(this.logFile)) return "(no pooler log)";
        return fs.readFileSync(this.logFile, "utf8").split("\n").slice(-lines).join("\n");
    }

    /** libpq conninfo words for a client of this pooler (verify-full against the cluster's CA when TLS is on). */
    conninfo(): string {
        return `host=${this.host} port=${POOLER_PORT}` + (this.c.caFile ? ` sslmode=verify-full sslrootcert=${this.c.caFile}` : "");
    }
}

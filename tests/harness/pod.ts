/**
 * One pod of the StatefulSet played on this machine: its init containers, then its database container, run
 * as local processes in a private mount namespace where the rendered mount paths, /etc/hosts included, are
 * bind mounts of per-pod directories, under the rendered uid, gid and fsGroup (999, with an /etc/passwd
 * that names it postgres, as the image's does), with the kubelet's file modes and ownership. The only
 * changes to what Kubernetes would run: the listen addresses (the pod's address, Patroni's too)
 * and PATH (Debian's PostgreSQL binaries), env only; Patroni's store is swapped in cluster.ts. Patroni is the
 * image's release (tools/patroni/install.sh), mounted where the image has its venv.
 *
 * Debian 12's PostgreSQL 15 stands in for the image's 17: the scripts use nothing that differs between them.
 */
import { ChildProcess, spawn, spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { PodObjects, container, resolveEnv, volumeFiles } from "./kubelet";
import type { ApiAccess } from "./node";
import { ProbeKind, ProbeResult } from "./prober";
import { collect } from "./proc";
import { toolDir, toolVersion } from "./tools";

export const PG_BIN = "/usr/lib/postgresql/15/bin";

/** The uid, gid and supplementary group a container runs with, from the rendered security contexts. */
export interface Identity {
    uid: number;
    gid: number;
    fsGroup: number;
}

export function identity(objects: PodObjects, c: any): Identity {
    const pod = objects.statefulSet.spec.template.spec.securityContext ?? {};
    const own = c.securityContext ?? {};
    return { uid: own.runAsUser ?? pod.runAsUser ?? 0, gid: own.runAsGroup ?? pod.runAsGroup ?? 0, fsGroup: pod.fsGroup ?? 0 };
}

export function runAs(id: Identity): string[] {
    return ["setpriv", `--reuid=${id.uid}`, `--regid=${id.gid}`, `--groups=${id.fsGroup}`, "--"];
}

export function own(p: string, uid: number, gid: number, mode: number): void {
    fs.chownSync(p, uid, gid);
    fs.chmodSync(p, mode);
}

/** unshare's arguments: a private mount namespace, the bind mounts (host path, mount path), then exec the command. */
export function mountNamespace(mounts: [string, string][], command: string[]): string[] {
    const mountArgs = mounts.flat();
    // Mount points must exist on the host tree to be mounted over; they stay empty outside the namespace.
    for (let i = 1; i < mountArgs.length; i += 2) {
        if (!fs.existsSync(mountArgs[i])) fs.mkdirSync(mountArgs[i], { recursive: true });
    }
    const script = 'set -e; while [ "$1" != "--" ]; do mount --bind "$1" "$2"; shift 2; done; shift; exec "$@"';
    return ["-m", "--propagation", "private", "--", "/bin/bash", "-c", script, "mounts", ...mountArgs, "--", ...command];
}

export type { ProbeKind };

/** Whether a container runs Patroni: it has a "patroni" port. */
function runsPatroni(c: any): boolean {
    return (c.ports ?? []).some((p: any) => p.name === "patroni");
}

/** Where the image has Patroni's virtual environment (images/postgres/Dockerfile): the harness mounts the one
 * tools/patroni/install.sh made there, in the pod's mount namespace. */
export const PATRONI_MOUNT = "/opt/patroni";

/** Patroni at the image's version (tools/versions.env PATRONI_VERSION), installed by tools/patroni/install.sh. */
export function patroniToolDir(): string {
    const version = toolVersion("PATRONI_VERSION");
    const dir = toolDir("patroni", version);
    if (!fs.existsSync(path.join(dir, ".complete"))) {
        throw new Error(`Patroni ${version} is not installed in ${dir}: run tools/patroni/install.sh (tools/setup.sh does)`);
    }
    return dir;
}

/** A container that runs Patroni listens on the pod's address, not on 0.0.0.0. */
function patroniListen(c: any, address: string): Record<string, string> {
    const ports: any[] = c.ports ?? [];
    const port = (name: string) => ports.find((p) => p.name === name)?.containerPort;
    if (!runsPatroni(c)) return {};
    return {
        PATRONI_POSTGRESQL_LISTEN: `${address}:${port("postgresql")}`,
        PATRONI_RESTAPI_LISTEN: `${address}:${port("patroni")}`,
    };
}

/** The URL an httpGet probe asks, from the node to the pod's address (named ports resolved), as the kubelet does. */
export function httpProbeUrl(c: any, probe: any, address: string): string {
    const get = probe.httpGet;
    const port = typeof get.port === "number" ? get.port : (c.ports ?? []).find((p: any) => p.name === get.port)?.containerPort;
    if (port === undefined) throw new Error(`probe port ${get.port} is not a port of ${c.name}`);
    return `${(get.scheme ?? "HTTP").toLowerCase()}://${address}:${port}${get.path ?? "/"}`;
}

/** The directory that stands in for a PersistentVolumeClaim the pods share (not a volumeClaimTemplate's). */
export function claimDir(base: string, claimName: string): string {
    return path.join(base, "claims", claimName);
}

/** The run's pod network (tests/harness/isolated.sh routes it to the loopback interface of the run's own network
 * namespace). Not 127.0.0.0/8: the API server refuses loopback addresses in EndpointSlices, and the pods' addresses
 * go there as the EndpointSlice controller publishes them. */
export const POD_NETWORK_PREFIX = "10.244.0.";

/** Pod `ordinal`'s address; `offset` (ClusterOptions.addressOffset) moves a second cluster of the same run onto
 * addresses of its own. */
export function podAddress(ordinal: number, offset = 0): string {
    return `${POD_NETWORK_PREFIX}${10 + offset + ordinal}`;
}

/**
 * The signal the container runtime stops the database container with: the rendered lifecycle.stopSignal,
 * else the image's STOPSIGNAL, which is SIGINT (fast shutdown) in the official postgres image and in
 * images/postgres, built FROM it without a STOPSIGNAL of its own.
 */
export function stopSignal(c: any): NodeJS.Signals {
    return c.lifecycle?.stopSignal ?? "SIGINT";
}

/** Resolves with a child's exit code once its output is read (or shortly after the exit, should a
 * daemon it left behind hold the pipes open). */
function finished(child: ChildProcess): Promise<number | null> {
    return new Promise((resolve) => {
        child.on("error", () => resolve(null));
        child.on("close", (code) => resolve(code));
        child.on("exit", (code) => setTimeout(() => resolve(code), 200));
    });
}

export class Pod {
    readonly root: string;
    readonly dataDir: string;
    private proc?: ChildProcess;
    private exited?: Promise<number | null>;
    private objects!: PodObjects;
    private logPath?: string;
    /** Whether the pod exists: its emptyDirs live and its init containers have run. */
    created = false;
    /** Whether the test wants the container running; the restart policy restarts only those. */
    wanted = false;
    /** The current container instance (counts every start in this Pod object). */
    /** With the harness node (node.ts): the pod's own token for the API, set before each new pod starts. */
    apiAccess?: ApiAccess;
    private instance = 0;
    private startedAt = 0;
    private readonly exitListeners: ((exitedAt: number) => void)[] = [];

    constructor(
        readonly name: string,
        readonly ordinal: number,
        readonly namespace: string,
        base: string,
        /** Files the cluster mounts over /etc in every pod: hosts, passwd, group. */
        private readonly etc: Record<string, string>,
        /** Test-only env values of the database container (ClusterOptions.env). */
        private readonly extraEnv: Record<string, string> = {},
        /** ClusterOptions.addressOffset. */
        private readonly addressOffset = 0,
    ) {
        this.root = path.join(base, name);
        // The PersistentVolume: it survives pod restarts, deletions and scale-downs.
        this.dataDir = path.join(this.root, "volume");
        fs.mkdirSync(this.dataDir, { recursive: true });
    }

    get address(): string {
        return podAddress(this.ordinal, this.addressOffset);
    }

    get running(): boolean {
        return this.proc !== undefined && this.proc.exitCode === null && this.proc.signalCode === null;
    }

    get pid(): number {
        if (!this.proc?.pid) throw new Error(`${this.name} is not running`);
        return this.proc.pid;
    }

    containerInstance(): number | undefined {
        return this.running ? this.instance : undefined;
    }

    containerStartedAt(): number {
        return this.startedAt;
    }

    /** Called with the time whenever the container exits, after what was left of it is killed. */
    onExit(listener: (exitedAt: number) => void): void {
        this.exitListeners.push(listener);
    }

    /** The env, mounts and identity of a container (the database one by default), from the current render. */
    private plan(objects: PodObjects, name = "postgres") {
        const c = container(objects, name);
        const env = {
            ...resolveEnv(objects, c, this.name, this.namespace),
            // Test-only: each pod listens on its own address (Patroni's server and REST API too);
            // Debian's binaries stand in for the image's.
            RDB_LISTEN_ADDRESSES: this.address,
            ...patroniListen(c, this.address),
            ...(name === "postgres" ? this.extraEnv : {}),
            // The kubelet gives every container the API's address; here the API server's own (no kube-proxy).
            ...(this.apiAccess ? { KUBERNETES_SERVICE_HOST: this.apiAccess.host, KUBERNETES_SERVICE_PORT: String(this.apiAccess.port) } : {}),
            // Patroni first, as the image's /usr/local/bin links to its venv come before Debian's /usr/bin/patroni.
            PATH: `${PG_BIN}:${runsPatroni(c) ? `${PATRONI_MOUNT}/bin:` : ""}/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin`,
            HOME: "/var/lib/postgresql",
            LANG: "C.UTF-8",
        };
        const mounts: [string, string][] = Object.entries(this.etc).map(([file, source]) => [source, `/etc/${file}`]);
        for (const m of c.volumeMounts) {
            mounts.push([path.join(this.root, "mounts", m.name), m.mountPath]);
        }
        if (runsPatroni(c)) mounts.push([patroniToolDir(), PATRONI_MOUNT]);
        return { c, env, mounts, id: identity(objects, c) };
    }

    /** Writes the ConfigMap and Secret volumes' files (the kubelet's job, also on updates) and, for a new
     * pod, fresh emptyDirs (a container restart keeps them), with the kubelet's ownership: root, the
     * fsGroup as group, the volume's defaultMode. */
    materialise(objects: PodObjects, freshScratch: boolean): void {
        this.objects = objects;
        const spec = objects.statefulSet.spec.template.spec;
        const fsGroup = spec.securityContext?.fsGroup ?? 0;
        for (const v of spec.volumes) {
            const dir = path.join(this.root, "mounts", v.name);
            const files = volumeFiles(objects, v.name);
            if (v.projected) {
                // The ServiceAccount token volume: with the harness node (node.ts), a token the API server
                // issued for this pod and the cluster's CA; without one, a token nothing accepts.
                fs.mkdirSync(dir, { recursive: true });
                const a = this.apiAccess;
                const projected: Record<string, string> = a
                    ? { token: a.token, namespace: a.namespace, "ca.crt": a.ca }
                    : { token: "harness-token", namespace: this.namespace, "ca.crt": "" };
                for (const [file, content] of Object.entries(projected)) {
                    fs.writeFileSync(path.join(dir, file), content);
                    own(path.join(dir, file), 0, fsGroup, v.projected.defaultMode ?? 0o644);
                }
                continue;
            }
            if (v.persistentVolumeClaim) {
                // A claim outside the volumeClaimTemplates (the backup repository): one directory that every
                // pod mounts, as a ReadWriteMany volume is, kept across pod deletions.
                const shared = claimDir(path.dirname(this.root), v.persistentVolumeClaim.claimName);
                if (!fs.existsSync(shared)) {
                    fs.mkdirSync(shared, { recursive: true });
                    own(shared, 0, fsGroup, 0o2770);
                }
                if (!fs.existsSync(dir)) {
                    fs.mkdirSync(path.dirname(dir), { recursive: true });
                    fs.symlinkSync(shared, dir);
                }
                continue;
            }
            if (files === undefined) {
                if (!freshScratch && fs.existsSync(dir)) continue;
                fs.rmSync(dir, { recursive: true, force: true });
                fs.mkdirSync(dir, { recursive: true });
                // emptyDir: world-writable, group fsGroup with setgid, as the kubelet makes it.
                own(dir, 0, fsGroup, 0o2777);
                continue;
            }
            fs.mkdirSync(dir, { recursive: true });
            own(dir, 0, fsGroup, 0o755);
            const mode = (v.configMap ?? v.secret).defaultMode ?? 0o644;
            for (const [file, content] of Object.entries(files)) {
                // Atomic like the kubelet's symlink swap: a reader sees the old file or the new one.
                const tmp = path.join(dir, `.${file}.tmp`);
                fs.writeFileSync(tmp, content);
                own(tmp, 0, fsGroup, mode);
                fs.renameSync(tmp, path.join(dir, file));
            }
        }
        // The claim: a new volume gets the fsGroup like any volume the kubelet manages; a hostPath one is
        // created root-owned (DirectoryOrCreate) and left to the init container, exactly as on a node.
        const data = path.join(this.root, "mounts", "data");
        if (!fs.existsSync(data)) fs.symlinkSync(this.dataDir, data);
        if (fs.readdirSync(this.dataDir).length === 0) {
            const hostPath = (spec.initContainers ?? []).length > 0;
            own(this.dataDir, 0, hostPath ? 0 : fsGroup, hostPath ? 0o755 : 0o2770);
        }
    }

    /** Runs the init containers to completion, each in a namespace of its own, as the kubelet does. */
    private runInitContainers(objects: PodObjects, log: string): void {
        for (const init of objects.statefulSet.spec.template.spec.initContainers ?? []) {
            const { c, env, mounts, id } = this.plan(objects, init.name);
            const out = fs.openSync(log, "a");
            const r = spawnSync("unshare", this.launch(mounts, [...runAs(id), ...c.command, ...(c.args ?? [])]), { env, stdio: ["ignore", out, out] });
            fs.closeSync(out);
            if (r.status !== 0) throw new Error(`${this.name}: init container ${init.name} failed (${r.status})`);
        }
    }

    private launch(mounts: [string, string][], command: string[]): string[] {
        return mountNamespace(mounts, command);
    }

    /** Creates the pod: fresh emptyDirs, then its init containers, once per pod as the kubelet runs them. */
    create(objects: PodObjects, log: string): void {
        this.logPath = log;
        this.materialise(objects, true);
        this.runInitContainers(objects, log);
        this.created = true;
    }

    /** The test starts the pod: created if it does not exist, then its database container. */
    start(objects: PodObjects, log: string): void {
        this.wanted = true;
        this.startContainer(objects, log);
    }

    /** Starts the database container as rendered (command, env, mounts) in the pod, creating the pod if
     * needed; a container restart keeps the pod's emptyDirs. */
    startContainer(objects: PodObjects, log: string): void {
        if (this.running) throw new Error(`${this.name} is already running`);
        if (!this.created) this.create(objects, log);
        else this.materialise(objects, false);
        this.logPath = log;
        const { c, env, mounts, id } = this.plan(objects);
        const out = fs.openSync(log, "a");
        this.proc = spawn("unshare", this.launch(mounts, [...runAs(id), ...c.command, ...(c.args ?? [])]), {
            env,
            // A container starts in its image's directory, not in the test's: a checkout under /tmp would be
            // hidden by the pod's own /tmp mount.
            cwd: "/",
            stdio: ["ignore", out, out],
            detached: true,
        });
        fs.closeSync(out);
        this.instance++;
        this.startedAt = Date.now();
        this.mountNamespace = undefined;
        const proc = this.proc;
        this.exited = new Promise((resolve) =>
            proc.on("exit", (code) => {
                // The runtime tears the whole container down with its first process.
                this.killGroup();
                resolve(code);
                const at = Date.now();
                for (const listener of this.exitListeners) listener(at);
            }),
        );
        this.watchNamespace(proc);
    }

    /**
     * Starts another container of the pod (a sidecar) as rendered: its command and args, its env (references
     * resolved), its mounts of the pod's volumes, its uid, gid and fsGroup, in a mount namespace of its own beside
     * the database container's. `rewrite` maps its argv (the image's binary to Debian's, its listen address to the
     * pod's); the caller stops it (the kubelet's restart policy and probes are not played for sidecars).
     */
    startSidecar(name: string, log: string, rewrite: (argv: string[]) => string[]): ChildProcess {
        if (!this.created) throw new Error(`${this.name} does not exist: start it first`);
        const { c, env, mounts, id } = this.plan(this.objects, name);
        const out = fs.openSync(log, "a");
        const argv = rewrite([...(c.command ?? []), ...(c.args ?? [])]);
        const child = spawn("unshare", this.launch(mounts, [...runAs(id), ...argv]), { env, cwd: "/", stdio: ["ignore", out, out], detached: true });
        fs.closeSync(out);
        return child;
    }

    /**
     * `kubectl exec -c NAME` into a sidecar: COMMAND in a mount namespace made as the sidecar's (startSidecar), as
     * its user and groups, with its env; resolves with the exit status and the output.
     */
    execSidecar(name: string, command: string[], timeoutMs = 60000): Promise<{ status: number | null; stdout: string; stderr: string }> {
        if (!this.created) throw new Error(`${this.name} does not exist: start it first`);
        const { env, mounts, id } = this.plan(this.objects, name);
        return collect(spawn("unshare", this.launch(mounts, [...runAs(id), ...command]), { env, cwd: "/", stdio: ["ignore", "pipe", "pipe"] }), timeoutMs);
    }

    /** Records the container's mount namespace as soon as unshare has made it, to find its processes later. */
    private watchNamespace(proc: ChildProcess): void {
        const timer = setInterval(() => {
            if (proc !== this.proc || proc.exitCode !== null || proc.signalCode !== null || this.recordNamespace()) clearInterval(timer);
        }, 20);
    }

    /** Appends a line from the kubelet to the pod's log, prefixed so that it is not taken for the pod's own. */
    log(text: string): void {
        if (!this.logPath) return;
        const stamp = new Date().toISOString();
        fs.appendFileSync(this.logPath, text.split("\n").map((l) => `[kubelet ${stamp}] ${l}\n`).join(""));
    }

    /**
     * `kubectl exec` into the database container: COMMAND inside its mount namespace, as its user, with its
     * env; resolves with the exit status and the output (the event loop, and with it the probes, keep running).
     */
    exec(command: string[], timeoutMs = 600000): Promise<{ status: number | null; stdout: string; stderr: string }> {
        this.recordNamespace();
        const { env, id } = this.plan(this.objects);
        return collect(spawn("nsenter", ["-t", String(this.pid), "-m", "--", ...runAs(id), ...command], { env, stdio: ["ignore", "pipe", "pipe"] }), timeoutMs);
    }

    /** The rendered exec probe, run inside the pod's mount namespace as the container's user. */
    private probeCommand(kind: ProbeKind): { args: string[]; env: Record<string, string>; timeoutMs: number } {
        this.recordNamespace();
        const { c, env, id } = this.plan(this.objects);
        return {
            args: ["-t", String(this.pid), "-m", "--", ...runAs(id), ...c[kind].exec.command],
            env,
            timeoutMs: (c[kind].timeoutSeconds ?? 1) * 1000,
        };
    }

    /** An httpGet probe, as curl from the node; undefined for an exec probe. */
    private httpProbe(kind: ProbeKind): { args: string[]; timeoutMs: number } | undefined {
        const c = container(this.objects, "postgres");
        const probe = c[kind];
        if (!probe?.httpGet) return undefined;
        const seconds = probe.timeoutSeconds ?? 1;
        const url = httpProbeUrl(c, probe, this.address);
        // The kubelet does not verify an HTTPS probe's certificate (it dials the pod's IP, which no
        // certificate of ours names): -k, as it does.
        const insecure = url.startsWith("https:") ? ["-k"] : [];
        return { args: ["-s", ...insecure, "-o", "/dev/null", "-w", "%{http_code}", "-m", String(seconds), url], timeoutMs: seconds * 1000 };
    }

    /** Like the kubelet: any status from 200 to 399 passes. */
    private static httpResult(code: number | null, stdout: string): ProbeResult {
        const status = Number(stdout);
        if (status >= 200 && status < 400) return { ok: true, output: `HTTP ${status}` };
        return { ok: false, output: status > 0 ? `HTTP probe failed with statuscode: ${status}` : `HTTP probe failed: no response (curl exit ${code})` };
    }

    /** Runs a probe of the database container as rendered, blocking (for tests that probe by hand, as
     * `kubectl exec` would), killed at its timeoutSeconds like the kubelet's. */
    probe(kind: ProbeKind): ProbeResult {
        if (!this.running) return { ok: false, output: "not running" };
        const http = this.httpProbe(kind);
        const { file, args, env, timeoutMs } = http ? { file: "curl", env: process.env, ...http } : { file: "nsenter", ...this.probeCommand(kind) };
        const r = spawnSync(file, args, { env, encoding: "utf8", timeout: timeoutMs, killSignal: "SIGKILL" });
        if ((r.error as NodeJS.ErrnoException | undefined)?.code === "ETIMEDOUT") return { ok: false, output: `probe timed out after ${timeoutMs / 1000}s` };
        if (http) return Pod.httpResult(r.status, r.stdout);
        return { ok: r.status === 0, output: `${r.stdout ?? ""}${r.stderr ?? ""}` };
    }

    /** The same without blocking the event loop, as the background prober runs it: at timeoutSeconds the
     * probe's process group is killed and the probe counts as failed. */
    async probeAsync(kind: ProbeKind): Promise<ProbeResult> {
        if (!this.running) return { ok: false, output: "not running" };
        const http = this.httpProbe(kind);
        const { file, args, env, timeoutMs } = http ? { file: "curl", env: process.env, ...http } : { file: "nsenter", ...this.probeCommand(kind) };
        const child = spawn(file, args, { env, stdio: ["ignore", "pipe", "pipe"], detached: true });
        let out = "";
        child.stdout!.on("data", (d) => (out += d));
        child.stderr!.on("data", (d) => (out += d));
        let timedOut = false;
        const timer = setTimeout(() => {
            timedOut = true;
            try {
                process.kill(-child.pid!, "SIGKILL");
            } catch {
                /* gone meanwhile */
            }
        }, timeoutMs);
        const code = await finished(child);
        clearTimeout(timer);
        if (timedOut) return { ok: false, output: `probe timed out after ${timeoutMs / 1000}s${out.trim() ? `; output so far: ${out.trim()}` : ""}` };
        if (http) return Pod.httpResult(code, out);
        return { ok: code === 0, output: out };
    }

    /** The test stops the container and it stays down (a node down, say), whatever the restart policy:
     * sends a signal to its main process (SIGKILL: to the whole container) and waits for it to exit. */
    async stop(signal: NodeJS.Signals, timeoutMs = 60000): Promise<void> {
        this.wanted = false;
        await this.kill(signal, timeoutMs);
    }

    /** Sends a signal as stop() does, but the container stays wanted: the restart policy restarts it. */
    async kill(signal: NodeJS.Signals, timeoutMs = 60000): Promise<void> {
        if (!this.running) return;
        this.recordNamespace();
        const pid = this.pid;
        try {
            process.kill(signal === "SIGKILL" ? -pid : pid, signal);
        } catch {
            /* already gone */
        }
        if ((await this.waitExit(timeoutMs)) === "timeout") throw new Error(`${this.name} did not stop on ${signal} within ${timeoutMs} ms`);
        this.killGroup();
    }

    /** The kubelet's container kill: the stop signal to the main process, then after the grace period
     * (terminationGracePeriodSeconds unless given) SIGKILL of everything left in the container. */
    async terminate(graceMs?: number): Promise<void> {
        if (!this.running) return;
        const spec = this.objects.statefulSet.spec.template.spec;
        const grace = graceMs ?? (spec.terminationGracePeriodSeconds ?? 30) * 1000;
        this.recordNamespace();
        try {
            process.kill(this.pid, stopSignal(container(this.objects, "postgres")));
        } catch {
            /* already gone */
        }
        if ((await this.waitExit(grace)) === "timeout") {
            this.log(`container did not stop within its grace period of ${grace / 1000}s: killed`);
            this.killGroup();
            await this.exited;
        }
        this.killGroup();
    }

    /** Deletes the pod: its container terminated as the kubelet does; its emptyDirs go with it, and a new
     * pod of this name gets fresh ones and runs the init containers again. The volume stays. */
    async delete(graceMs?: number): Promise<void> {
        this.wanted = false;
        await this.terminate(graceMs);
        this.created = false;
    }

    private async waitExit(timeoutMs: number): Promise<"exited" | "timeout"> {
        let timer: NodeJS.Timeout | undefined;
        const timeout = new Promise<"timeout">((resolve) => (timer = setTimeout(() => resolve("timeout"), timeoutMs)));
        const r = await Promise.race([this.exited!.then(() => "exited" as const), timeout]);
        clearTimeout(timer);
        return r;
    }

    /** Kills whatever is left of the pod's processes, as the runtime tears a container down: its process
     * group and anything else in its mount namespace (pg_ctl starts servers in a session of their own). */
    killGroup(): void {
        if (this.proc?.pid) {
            try {
                process.kill(-this.proc.pid, "SIGKILL");
            } catch {
                /* nothing left */
            }
        }
        if (this.mountNamespace) {
            for (const pid of fs.readdirSync("/proc").filter((d) => /^[0-9]+$/.test(d))) {
                try {
                    if (fs.readlinkSync(`/proc/${pid}/ns/mnt`) === this.mountNamespace) process.kill(Number(pid), "SIGKILL");
                } catch {
                    /* gone meanwhile */
                }
            }
        }
    }

    /** The container's mount namespace, once its process has entered it. */
    private mountNamespace?: string;

    private recordNamespace(): boolean {
        if (this.mountNamespace) return true;
        try {
            const ns = fs.readlinkSync(`/proc/${this.pid}/ns/mnt`);
            if (ns !== fs.readlinkSync("/proc/self/ns/mnt")) this.mountNamespace = ns;
        } catch {
            /* not started yet */
        }
        return this.mountNamespace !== undefined;
    }
}

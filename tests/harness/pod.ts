/**
 * One pod of the StatefulSet played on this machine: its init containers, then its database container, run
 * as local processes in a private mount namespace where the rendered mount paths, /etc/hosts included, are
 * bind mounts of per-pod directories, under the rendered uid, gid and fsGroup (999, with an /etc/passwd
 * that names it postgres, as the image's does), with the kubelet's file modes and ownership. The only
 * changes to what Kubernetes would run: the listen addresses (the pod's loopback address, Patroni's too)
 * and PATH (Debian's PostgreSQL binaries), env only; Patroni's store is swapped in cluster.ts.
 *
 * Debian 12's PostgreSQL 15 stands in for the image's 17: the scripts use nothing that differs between them.
 */
import { ChildProcess, spawn, spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { PodObjects, container, resolveEnv, volumeFiles } from "./kubelet";

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

function runAs(id: Identity): string[] {
    return ["setpriv", `--reuid=${id.uid}`, `--regid=${id.gid}`, `--groups=${id.fsGroup}`, "--"];
}

function own(p: string, uid: number, gid: number, mode: number): void {
    fs.chownSync(p, uid, gid);
    fs.chmodSync(p, mode);
}

export type ProbeKind = "startupProbe" | "readinessProbe" | "livenessProbe";

/** A container that runs Patroni (it has a "patroni" port) listens on the pod's address, not on 0.0.0.0,
 * and accepts Debian's Patroni. */
function patroniListen(c: any, address: string): Record<string, string> {
    const ports: any[] = c.ports ?? [];
    const port = (name: string) => ports.find((p) => p.name === name)?.containerPort;
    if (port("patroni") === undefined) return {};
    return {
        PATRONI_POSTGRESQL_LISTEN: `${address}:${port("postgresql")}`,
        PATRONI_RESTAPI_LISTEN: `${address}:${port("patroni")}`,
        // Debian's Patroni 3.0.2 is older than the image's minimum; with the harness's store its leader
        // update is conditional as the Kubernetes store's is (tests/harness/etcd.ts, README).
        RDB_PATRONI_MIN_VERSION: "3.0.2",
    };
}

/** The URL an httpGet probe asks, from the node to the pod's address (named ports resolved), as the kubelet does. */
export function httpProbeUrl(c: any, probe: any, address: string): string {
    const get = probe.httpGet;
    const port = typeof get.port === "number" ? get.port : (c.ports ?? []).find((p: any) => p.name === get.port)?.containerPort;
    if (port === undefined) throw new Error(`probe port ${get.port} is not a port of ${c.name}`);
    return `${(get.scheme ?? "HTTP").toLowerCase()}://${address}:${port}${get.path ?? "/"}`;
}

export function podAddress(ordinal: number): string {
    return `127.0.0.${10 + ordinal}`;
}

export class Pod {
    readonly root: string;
    readonly dataDir: string;
    private proc?: ChildProcess;
    private exited?: Promise<number | null>;
    private objects!: PodObjects;

    constructor(
        readonly name: string,
        readonly ordinal: number,
        readonly namespace: string,
        base: string,
        /** Files the cluster mounts over /etc in every pod: hosts, passwd, group. */
        private readonly etc: Record<string, string>,
    ) {
        this.root = path.join(base, name);
        // The PersistentVolume: it survives pod restarts and scale-downs.
        this.dataDir = path.join(this.root, "volume");
        fs.mkdirSync(this.dataDir, { recursive: true });
    }

    get address(): string {
        return podAddress(this.ordinal);
    }

    get running(): boolean {
        return this.proc !== undefined && this.proc.exitCode === null && this.proc.signalCode === null;
    }

    get pid(): number {
        if (!this.proc?.pid) throw new Error(`${this.name} is not running`);
        return this.proc.pid;
    }

    /** The env, mounts and identity of a container (the database one by default), from the current render. */
    private plan(objects: PodObjects, name = "postgres") {
        const c = container(objects, name);
        const env = {
            ...resolveEnv(objects, c, this.name, this.namespace),
            // Test-only: each pod listens on its own loopback address (Patroni's server and REST API too);
            // Debian's binaries stand in for the image's.
            RDB_LISTEN_ADDRESSES: this.address,
            ...patroniListen(c, this.address),
            PATH: `${PG_BIN}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin`,
            HOME: "/var/lib/postgresql",
            LANG: "C.UTF-8",
        };
        const mounts: [string, string][] = Object.entries(this.etc).map(([file, source]) => [source, `/etc/${file}`]);
        for (const m of c.volumeMounts) {
            mounts.push([path.join(this.root, "mounts", m.name), m.mountPath]);
        }
        return { c, env, mounts, id: identity(objects, c) };
    }

    /** Writes the ConfigMap and Secret volumes' files (the kubelet's job, also on updates) and fresh emptyDirs,
     * with the kubelet's ownership: root, the fsGroup as group, the volume's defaultMode. */
    materialise(objects: PodObjects, freshScratch: boolean): void {
        this.objects = objects;
        const spec = objects.statefulSet.spec.template.spec;
        const fsGroup = spec.securityContext?.fsGroup ?? 0;
        for (const v of spec.volumes) {
            const dir = path.join(this.root, "mounts", v.name);
            const files = volumeFiles(objects, v.name);
            if (v.projected) {
                // The ServiceAccount token volume: what the kubelet projects, with a token no API server
                // accepts (no API server runs here; Patroni's store is etcd in the tests).
                fs.mkdirSync(dir, { recursive: true });
                const projected: Record<string, string> = { token: "harness-token", namespace: this.namespace, "ca.crt": "" };
                for (const [file, content] of Object.entries(projected)) {
                    fs.writeFileSync(path.join(dir, file), content);
                    own(path.join(dir, file), 0, fsGroup, v.projected.defaultMode ?? 0o644);
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

    /** unshare's arguments: a private mount namespace, the bind mounts, then exec the command. */
    private launch(mounts: [string, string][], command: string[]): string[] {
        const mountArgs = mounts.flat();
        // Mount points must exist on the host tree to be mounted over; they stay empty outside the namespace.
        for (let i = 1; i < mountArgs.length; i += 2) {
            if (!fs.existsSync(mountArgs[i])) fs.mkdirSync(mountArgs[i], { recursive: true });
        }
        const script = 'set -e; while [ "$1" != "--" ]; do mount --bind "$1" "$2"; shift 2; done; shift; exec "$@"';
        return ["-m", "--propagation", "private", "--", "/bin/bash", "-c", script, "mounts", ...mountArgs, "--", ...command];
    }

    /** Starts the pod: init containers, then the database container as rendered (command, env, mounts). */
    start(objects: PodObjects, log: string): void {
        if (this.running) throw new Error(`${this.name} is already running`);
        this.materialise(objects, true);
        this.runInitContainers(objects, log);
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
        const proc = this.proc;
        this.exited = new Promise((resolve) => proc.on("exit", (code) => resolve(code)));
    }

    /** The rendered exec probe, run inside the pod's mount namespace as the container's user. */
    private probeCommand(kind: ProbeKind): { args: string[]; env: Record<string, string>; timeoutMs: number } {
        this.recordNamespace();
        const { c, env, id } = this.plan(this.objects);
        return {
            args: ["-t", String(this.pid), "-m", "--", ...runAs(id), ...c[kind].exec.command],
            env,
            timeoutMs: (c[kind].timeoutSeconds ?? 1) * 1000 + 5000,
        };
    }

    /** An httpGet probe, as curl from the node; undefined for an exec probe. */
    private httpProbe(kind: ProbeKind): { args: string[]; timeoutMs: number } | undefined {
        const c = container(this.objects, "postgres");
        const probe = c[kind];
        if (!probe?.httpGet) return undefined;
        const seconds = probe.timeoutSeconds ?? 1;
        // Like the kubelet: any status from 200 to 399 passes.
        return { args: ["-s", "-o", "/dev/null", "-w", "%{http_code}", "-m", String(seconds), httpProbeUrl(c, probe, this.address)], timeoutMs: seconds * 1000 + 5000 };
    }

    /** Runs a probe of the database container as rendered. */
    probe(kind: ProbeKind): { ok: boolean; output: string } {
        if (!this.running) return { ok: false, output: "not running" };
        const http = this.httpProbe(kind);
        if (http) {
            const r = spawnSync("curl", http.args, { encoding: "utf8", timeout: http.timeoutMs });
            const code = Number(r.stdout);
            return { ok: code >= 200 && code < 400, output: `HTTP ${r.stdout}` };
        }
        const { args, env, timeoutMs } = this.probeCommand(kind);
        const r = spawnSync("nsenter", args, { env, encoding: "utf8", timeout: timeoutMs });
        return { ok: r.status === 0, output: `${r.stdout ?? ""}${r.stderr ?? ""}` };
    }

    /** The same without blocking the event loop (for the background prober). */
    probeAsync(kind: ProbeKind): Promise<boolean> {
        if (!this.running) return Promise.resolve(false);
        // Patroni's probes only read its state; nothing in the pod depends on them being run.
        if (this.httpProbe(kind)) return Promise.resolve(this.probe(kind).ok);
        const { args, env, timeoutMs } = this.probeCommand(kind);
        return new Promise((resolve) => {
            const child = spawn("nsenter", args, { env, stdio: "ignore" });
            const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
            child.on("exit", (code) => {
                clearTimeout(timer);
                resolve(code === 0);
            });
            child.on("error", () => resolve(false));
        });
    }

    /** Sends a signal to the container's main process (what the kubelet does), waiting for it to exit. */
    async stop(signal: NodeJS.Signals, timeoutMs = 60000): Promise<void> {
        if (!this.running) return;
        this.recordNamespace();
        const pid = this.pid;
        try {
            // SIGKILL takes the whole container, as a killed container would; other signals go to its PID 1.
            process.kill(signal === "SIGKILL" ? -pid : pid, signal);
        } catch {
            /* already gone */
        }
        const timer = new Promise<"timeout">((resolve) => setTimeout(() => resolve("timeout"), timeoutMs));
        if ((await Promise.race([this.exited, timer])) === "timeout") {
            throw new Error(`${this.name} did not stop on ${signal} within ${timeoutMs} ms`);
        }
        this.killGroup();
    }

    /** Kills whatever is left of the pod's processes, as the kubelet tears a container down: its process
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

    /** The pod's mount namespace, once its process has entered it. */
    private mountNamespace?: string;

    private recordNamespace(): void {
        try {
            const ns = fs.readlinkSync(`/proc/${this.pid}/ns/mnt`);
            if (ns !== fs.readlinkSync("/proc/self/ns/mnt")) this.mountNamespace = ns;
        } catch {
            /* not started yet */
        }
    }
}

/**
 * A rendered ReplicatedDatabase played on this machine: one Pod per ordinal, the headless Service's DNS
 * names in each pod's /etc/hosts, the kubelet's probes, restart policy and readiness (prober.ts,
 * backoff.ts), the Services' endpoints as readiness and the role label make them, and the day-to-day
 * operations a cluster sees (container crashes, pod deletions, scaling, Secret changes). Everything it
 * starts or writes goes in cleanup(). It runs only inside tests/harness/isolated.sh (namespace.ts).
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { ReplicatedDatabaseArgs } from "../../components/args";
import { renderComponent } from "../../render/render";
import { CrashLoopBackOff } from "./backoff";
import { StoreProxy } from "./store-proxy";
import { PodObjects, container, podObjects } from "./kubelet";
import { assertIsolated } from "./namespace";
import { PG_BIN, Pod, podAddress } from "./pod";
import { API_ADDRESS, API_PORT } from "./controlplane";
import { HarnessNode } from "./node";
import { Prober } from "./prober";
import { SERVICE_ADDRESS, ServiceName } from "./service";

export interface ClusterOptions {
    name?: string;
    args?: ReplicatedDatabaseArgs;
    /** Restart a container the test wants running when it exits or liveness kills it, as the kubelet's
     * restartPolicy Always does (with CrashLoopBackOff delays). false: it stays down. @default true */
    restartExited?: boolean;
    /** Multiplies the CrashLoopBackOff delays (10 s doubling up to 300 s), for tests that need speed; in
     * (0, 1]. @default 1 (the kubelet's) */
    crashLoopBackOffScale?: number;
    /** Secrets the user created beside the component (`kubectl create secret`), by name: key to value.
     * The backup repository's credentials and encryption key are such Secrets. @default {} */
    secrets?: Record<string, Record<string, string>>;
    /** Test-only env values added to the database container, as the listen addresses are (for example
     * PGBACKREST_REPO1_STORAGE_CA_FILE for the test S3 server's own CA). @default {} */
    env?: Record<string, string>;
    /** Added to every pod's address (10.244.0.(10 + offset + ordinal), pod.ts podAddress), so that a second cluster can
     * run beside the first in one run (a standby cluster and its source). @default 0 */
    addressOffset?: number;
    /** More /etc/hosts lines for the pods (another cluster's names, as a cross-cluster DNS would resolve
     * them: Cluster.podHostLines()). @default [] */
    extraHosts?: string[];
    /** With failover "patroni": each pod reaches the store (the API server) through a proxy of its own
     * (store-proxy.ts, at the pod's address), which the test can cut to partition that pod alone from the store
     * (Cluster.storeProxy). Refused for a render without Patroni. @default false (every pod dials the store) */
    storeProxies?: boolean;
    /** Run what the API holds instead of rendering: the StatefulSet named `name` in this namespace, its
     * ConfigMaps and Secrets, as a deployment tool (`pulumi up`) applied them to the harness node's API server.
     * The volumes then follow the API's ConfigMaps and Secrets, and a pod the API deletes is stopped. The
     * namespace; "" renders instead. @default "" */
    fromApiNamespace?: string;
    /** Run the pods on the harness node even without Patroni (whose store needs it anyway): the render applied
     * to the API server, its pods admitted and their status reported, so that the real `kubectl` reaches them
     * (kubectl.ts). @default false */
    onNode?: boolean;
}

/** How often the node reads the pods' ConfigMaps and Secrets again (the kubelet's sync period is about a
 * minute plus its cache's ttl; shorter here, so that a test does not wait for it). */
const VOLUME_SYNC_MS = 2000;

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
    private readonly backoffScale: number;
    private readonly userSecrets: Record<string, Record<string, string>>;
    /** Test-only env values of the database container (ClusterOptions.env). */
    readonly extraEnv: Record<string, string>;
    readonly addressOffset: number;
    private readonly extraHosts: string[];
    private readonly storeProxies: boolean;
    /** ClusterOptions.fromApiNamespace. */
    private readonly fromApi: string;
    /** ClusterOptions.onNode. */
    private readonly onNode: boolean;
    private lastVolumeSync = 0;
    /** With the Kubernetes store: the node, the uid of each pod object it runs, and its status reports. */
    node?: HarnessNode;
    private readonly apiPods = new Map<number, string>();
    private statusTimer?: NodeJS.Timeout;
    /** The Services' selectors, by Service suffix (rw, ro), from the render. */
    private readonly selectors = new Map<string, Record<string, string>>();
    private readonly proxies = new Map<number, StoreProxy>();
    /** Per pod: the probe workers, the back-off and the restart waiting it out, and the restart count. */
    private readonly kubelet = new Map<number, { prober: Prober; backoff: CrashLoopBackOff; pending?: NodeJS.Timeout; restarts: number }>();

    constructor(options: ClusterOptions = {}) {
        assertIsolated();
        this.restartExited = options.restartExited ?? true;
        this.backoffScale = options.crashLoopBackOffScale ?? 1;
        new CrashLoopBackOff(this.backoffScale); // rejects a bad scale now, not at the first crash
        this.name = options.name ?? "db";
        this.userSecrets = options.secrets ?? {};
        this.extraEnv = options.env ?? {};
        this.addressOffset = options.addressOffset ?? 0;
        if (!Number.isInteger(this.addressOffset) || this.addressOffset < 0 || this.addressOffset > 200) {
            throw new Error(`addressOffset ${this.addressOffset}: a whole number from 0 to 200`);
        }
        this.extraHosts = options.extraHosts ?? [];
        this.storeProxies = options.storeProxies ?? false;
        this.fromApi = options.fromApiNamespace ?? "";
        this.onNode = options.onNode ?? false;
        this.args = { ...SMALL, ...options.args };
        // Not under /tmp: each pod mounts its own /tmp, which would hide the sources of its other mounts.
        this.base = fs.mkdtempSync(path.join("/var/tmp", "rdb-cluster-"));
        fs.chmodSync(this.base, 0o755);
    }

    /** The namespace the pods live in (the render's, or ClusterOptions.fromApiNamespace). */
    get namespaceName(): string {
        return this.namespace;
    }

    get replicas(): number {
        // Run from the API: the StatefulSet's pods, less the primary.
        if (this.fromApi && this.objects) return this.objects.statefulSet.spec.replicas - 1;
        return this.args.replicas ?? 2;
    }

    /** Renders the component for the current args (what `pulumi up` would apply). */
    async render(): Promise<void> {
        // Real keys and certificates (render/tlsIssuer.ts) instead of the unit tests' placeholders, which no
        // server would load; the same inputs keep the same CA across renders, as Pulumi's state would.
        process.env.RDB_RENDER_REAL_TLS = "1";
        if (this.fromApi) return this.loadFromApi();
        const r = await renderComponent(this.name, this.args);
        this.objects = podObjects(r.manifests);
        this.namespace = this.objects.statefulSet.metadata.namespace ?? "default";
        for (const [name, data] of Object.entries(this.userSecrets)) {
            if (this.objects.secrets.has(name)) throw new Error(`the component renders a Secret ${name} of its own`);
            this.objects.secrets.set(name, { ...data });
        }
        // After the user's Secrets: with tls.source "secret" the CA is theirs.
        this.writeCa();
        if (this.storeProxies && !this.usesPatroni) throw new Error("storeProxies: true needs a render with failover \"patroni\" (only Patroni uses the store)");
        // Patroni's store is the Kubernetes API, as rendered: the harness becomes its node.
        if (this.usesPatroni || this.onNode) await this.useKubernetes(r.manifests);
        this.writeHosts();
    }

    /** The CA a client verifies the servers with (the `caCertificate` output; `ca.crt` of the TLS Secret),
     * or undefined with TLS off. */
    caFile?: string;

    private writeCa(): void {
        const tlsVolume = this.objects.statefulSet.spec.template.spec.volumes.find((v: any) => v.name === "tls");
        const ca = tlsVolume ? this.objects.secrets.get(tlsVolume.secret.secretName)?.["ca.crt"] : undefined;
        if (!ca) {
            this.caFile = undefined;
            return;
        }
        this.caFile = path.join(this.base, "ca.crt");
        fs.writeFileSync(this.caFile, ca, { mode: 0o644 });
    }

    /**
     * The Kubernetes store: the render (and the user's Secrets) applied to the node's API server, each pod of
     * the StatefulSet admitted (created by the controller, bound, its token made) before the harness starts
     * it, and the pods' status reported while the cluster lives.
     */
    private async useKubernetes(manifests: any[]): Promise<void> {
        if (!this.node) await this.startNode();
        const userSecrets = Object.entries(this.userSecrets).map(([name, data]) => ({
            apiVersion: "v1", kind: "Secret", metadata: { name, namespace: this.namespace }, stringData: data,
        }));
        await this.node!.ensureNamespace(this.namespace);
        await this.node!.apply([...manifests, ...userSecrets]);
        // The pods' ConfigMap and Secret volumes hold what the API holds, as a kubelet's do (read again every
        // VOLUME_SYNC_MS by the node), not the render's copy.
        const api = podObjects(await this.node!.objectsFor(this.namespace, this.name));
        this.objects = { ...this.objects, configMaps: api.configMaps, secrets: api.secrets };
        this.lastVolumeSync = Date.now();
        for (const m of manifests.filter((x) => x.kind === "Service" && x.spec?.selector)) {
            this.selectors.set(m.metadata.name, m.spec.selector);
        }
        for (let i = 0; i <= this.replicas; i++) {
            if (this.storeProxies && !this.proxies.has(i)) {
                const proxy = new StoreProxy(podAddress(i, this.addressOffset), { host: API_ADDRESS, port: API_PORT });
                await proxy.start();
                this.proxies.set(i, proxy);
            }
            if (!this.apiPods.has(i)) await this.admit(i);
        }
    }

    /** ClusterOptions.fromApiNamespace: the objects the pods use, read from the API, and the pods admitted. */
    private async loadFromApi(): Promise<void> {
        this.namespace = this.fromApi;
        if (!this.node) await this.startNode();
        const manifests = await this.node!.objectsFor(this.namespace, this.name);
        this.objects = podObjects(manifests);
        this.lastVolumeSync = Date.now();
        this.writeCa();
        for (const m of manifests.filter((x) => x.kind === "Service" && x.spec?.selector)) this.selectors.set(m.metadata.name, m.spec.selector);
        this.writeHosts();
        for (let i = 0; i <= this.replicas; i++) if (!this.apiPods.has(i)) await this.admit(i);
    }

    private async startNode(): Promise<void> {
        this.node = await HarnessNode.acquire();
        let busy = false;
        const tick = async () => {
            if (busy) return;
            busy = true;
            try {
                await this.nodeTick();
            } catch (err) {
                console.error(`the harness node: ${err}`);
            } finally {
                busy = false;
            }
        };
        this.statusTimer = setInterval(tick, 500);
    }

    /** One round of the node's work: deletions the API asks for, the volumes' refresh, the pods' status. */
    private async nodeTick(): Promise<void> {
        if (!this.node) return;
        if (this.fromApi) {
            const live = new Map((await this.node.podsOf(this.namespace, this.objects.statefulSet.spec.selector.matchLabels)).map((p) => [p.metadata.name, p]));
            for (const [i, uid] of [...this.apiPods]) {
                const pod = live.get(`${this.name}-${i}`);
                if (pod && pod.metadata.uid === uid && !pod.metadata.deletionTimestamp) continue;
                // Deleted (by a controller, `kubectl delete`, `pulumi destroy`): the kubelet stops the containers
                // within the grace period, then confirms, and the object goes.
                this.apiPods.delete(i);
                this.forgetKubelet(i);
                const p = this.pods.get(i);
                if (p?.created) await p.delete(pod?.spec?.terminationGracePeriodSeconds !== undefined ? pod.spec.terminationGracePeriodSeconds * 1000 : undefined);
                await this.node.deletePod(this.namespace, `${this.name}-${i}`, uid);
            }
            // A pod the StatefulSet controller made again (a rolling update, a deletion): run it with the
            // objects as they are now.
            for (const [name, pod] of live) {
                const i = Number(name.slice(this.name.length + 1));
                if (this.apiPods.has(i) || pod.metadata.deletionTimestamp || !this.pods.has(i)) continue;
                const manifests = await this.node.objectsFor(this.namespace, this.name).catch(() => undefined);
                if (!manifests) continue;
                this.objects = podObjects(manifests);
                await this.admit(i);
                this.start(i);
            }
        }
        if (Date.now() - this.lastVolumeSync >= VOLUME_SYNC_MS) await this.syncVolumes();
        await this.reportStatus();
    }

    /** The kubelet's sync of ConfigMap and Secret volumes: the pods' files written again from what the API holds
     * now, when it differs from what they have. */
    private async syncVolumes(): Promise<void> {
        this.lastVolumeSync = Date.now();
        // Gone with a destroy: the running pods keep what they have until they are deleted.
        const manifests = await this.node!.objectsFor(this.namespace, this.name).catch(() => undefined);
        if (!manifests) return;
        const fresh = podObjects(manifests);
        const changed = (a: Map<string, Record<string, string>>, b: Map<string, Record<string, string>>) => JSON.stringify([...a].sort()) !== JSON.stringify([...b].sort());
        if (changed(fresh.configMaps, this.objects.configMaps) || changed(fresh.secrets, this.objects.secrets)) {
            this.objects = { ...this.objects, configMaps: fresh.configMaps, secrets: fresh.secrets };
            for (const [i, p] of this.pods) if (p.created && this.apiPods.has(i)) p.materialise(this.objects, false);
        }
    }

    /** Waits for the pod object of `ordinal` (a new one after a deletion), binds it, gives the pod its token. */
    private async admit(ordinal: number, previousUid?: string): Promise<void> {
        const { uid, access } = await this.node!.admit(this.namespace, `${this.name}-${ordinal}`, previousUid);
        this.apiPods.set(ordinal, uid);
        // With storeProxies the pod dials its own proxy, which the API server's certificate names.
        const proxy = this.proxies.get(ordinal);
        this.pod(ordinal).apiAccess = proxy ? { ...access, host: proxy.address } : access;
    }

    /** The pods' status to the API now (as the node's next round would), with where their containers run. */
    async reportStatus(): Promise<void> {
        if (!this.node) return;
        const image = container(this.objects, "postgres").image;
        for (const [i, uid] of this.apiPods) {
            const p = this.pods.get(i);
            if (!p?.created) continue;
            this.node.running(this.namespace, p.name, "postgres", p.running ? p.pid : undefined);
            await this.node.report(this.namespace, p.name, uid, {
                podIP: p.address, running: p.running, ready: this.ready(i), restarts: this.restarts(i), startedAt: p.containerStartedAt() || Date.now(), image,
            });
        }
    }

    /** The ready addresses of a Service's EndpointSlices, as the real EndpointSlice controller computed them from
     * the pods (the Service's selector, the pods' podIP and the Ready condition the node reported). On the node only. */
    async apiEndpoints(service: ServiceName): Promise<string[]> {
        if (!this.node) throw new Error("apiEndpoints needs the pods on the harness node (a Patroni render, or onNode)");
        if (!this.selectors.has(`${this.name}-${service}`)) throw new Error(`the render has no Service ${this.name}-${service}`);
        return this.node.readyEndpoints(this.namespace, `${this.name}-${service}`);
    }

    /** A pod object as the API holds it (labels, annotations, status). Kubernetes store only. */
    async apiPod(ordinal: number): Promise<any> {
        if (!this.node) throw new Error("apiPod needs the Kubernetes store");
        return this.node.get(this.namespace, "pods", `${this.name}-${ordinal}`);
    }

    /** Pod `ordinal`'s own path to the store (ClusterOptions.storeProxies), to cut() and restore(). */
    storeProxy(ordinal: number): StoreProxy {
        const proxy = this.proxies.get(ordinal);
        if (!proxy) throw new Error(`${this.name}-${ordinal} has no store proxy: create the cluster with storeProxies: true and failover "patroni"`);
        return proxy;
    }

    /** Pod DNS names (and the Services, for completeness) resolve to the pods' addresses (10.244.0.x, pod.ts podAddress). */
    private writeHosts(): void {
        const domain = `${this.namespace}.svc.cluster.local`;
        const lines = ["127.0.0.1 localhost", ...this.podHostLines()];
        lines.push(`${podAddress(0, this.addressOffset)} ${this.name}-rw.${domain}`, `${podAddress(1, this.addressOffset)} ${this.name}-ro.${domain}`);
        fs.writeFileSync(this.hostsFile, [...lines, ...this.extraHosts].join("\n") + "\n", { mode: 0o644 });
        // The test's clients reach a Service's name at the harness's Service proxy (service.ts), as a
        // client reaches its cluster IP.
        const services = (["rw", "ro"] as const).map((s) => `${SERVICE_ADDRESS[s]} ${this.serviceHost(s)}`);
        this.addRunHosts([...lines.slice(1, -2), ...services]);
    }

    /** The pods' DNS names at their addresses, as /etc/hosts lines (for another cluster's extraHosts). */
    podHostLines(): string[] {
        const lines: string[] = [];
        for (let i = 0; i <= Math.max(this.replicas, 8); i++) lines.push(`${podAddress(i, this.addressOffset)} ${this.host(i)}`);
        return lines;
    }

    /** The same names in the run's own /etc/hosts (isolated.sh), for the test's clients, replacing this
     * cluster's earlier lines. Written in place: it is a bind mount. */
    private addRunHosts(lines: string[]): void {
        if (!process.env.RDB_RUN_HOSTS) {
            throw new Error("RDB_RUN_HOSTS is not set: the test's clients could not resolve the pods' names (their certificates name no address); run through tests/harness/isolated.sh, which gives the run an /etc/hosts of its own");
        }
        const name = (l: string) => l.trim().split(/\s+/)[1];
        const names = new Set(lines.map(name));
        const kept = fs.readFileSync("/etc/hosts", "utf8").split("\n").filter((l) => l && !names.has(name(l)));
        fs.writeFileSync("/etc/hosts", [...kept, ...lines].join("\n") + "\n");
    }

    /** Pod `ordinal`'s DNS name, which its certificate carries (the test's clients resolve it: isolated.sh). */
    host(ordinal: number): string {
        return `${this.name}-${ordinal}.${this.name}-headless.${this.namespace}.svc.cluster.local`;
    }

    /** A Service's name, which the certificate carries too. */
    serviceHost(service: ServiceName): string {
        return `${this.name}-${service}.${this.namespace}.svc.cluster.local`;
    }

    /** libpq's settings for a client of this cluster: verify the server's certificate and name against the
     * cluster's CA, as the connection strings the component outputs ask (none with TLS off). */
    libpqEnv(): Record<string, string> {
        return this.caFile ? { PGSSLMODE: "verify-full", PGSSLROOTCERT: this.caFile } : {};
    }

    /** libpq's host list for these pods, by name, with the TLS settings as conninfo keywords. */
    hosts(ordinals: number | number[]): string {
        const list = (Array.isArray(ordinals) ? ordinals : [ordinals]).map((i) => this.host(i)).join(",");
        return `host=${list}` + (this.caFile ? ` sslmode=verify-full sslrootcert=${this.caFile}` : "");
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
            p = new Pod(`${this.name}-${ordinal}`, ordinal, this.namespace, this.base, this.etc, this.extraEnv, this.addressOffset);
            this.pods.set(ordinal, p);
            const pod = p;
            pod.onExit((exitedAt) => this.containerExited(ordinal, pod, exitedAt));
        }
        return p;
    }

    logFile(ordinal: number): string {
        return path.join(this.base, `${this.name}-${ordinal}.log`);
    }

    /** The test starts pod `ordinal`: creates it if it does not exist (fresh emptyDirs, init containers),
     * else starts its container again at once (emptyDirs kept), even one waiting out a back-off. */
    start(ordinal: number): Pod {
        const p = this.pod(ordinal);
        if (this.node && !this.apiPods.has(ordinal)) throw new Error(`${p.name}: no pod object admitted by the node (render or apply first)`);
        const k = this.kubelet.get(ordinal);
        if (k?.pending) clearTimeout(k.pending);
        if (k) k.pending = undefined;
        if (!p.created || !k) this.createKubelet(ordinal, p);
        p.start(this.objects, this.logFile(ordinal));
        return p;
    }

    /** The kubelet's view of a new pod: probe workers ticking from now on, a fresh back-off. */
    private createKubelet(ordinal: number, p: Pod): void {
        this.kubelet.get(ordinal)?.prober.stop();
        const prober = new Prober(container(this.objects, "postgres"), {
            containerInstance: () => p.containerInstance(),
            containerStartedAt: () => p.containerStartedAt(),
            probe: (kind) => p.probeAsync(kind),
            log: (line) => p.log(line),
            killContainer: (reason) => {
                p.log(`${reason}: killing the container`);
                p.terminate().catch((err) => p.log(`killing the container failed: ${err}`));
            },
        });
        this.kubelet.set(ordinal, { prober, backoff: new CrashLoopBackOff(this.backoffScale), restarts: 0 });
    }

    /** restartPolicy Always: a wanted container that exited is started again after the back-off. */
    private containerExited(ordinal: number, p: Pod, exitedAt: number): void {
        const k = this.kubelet.get(ordinal);
        if (!this.restartExited || !p.wanted || !p.created || !k || k.pending) return;
        const delay = k.backoff.next(exitedAt);
        if (delay > 0) p.log(`Back-off ${delay / 1000}s restarting failed container postgres (CrashLoopBackOff)`);
        k.pending = setTimeout(() => {
            k.pending = undefined;
            if (!p.wanted || !p.created || p.running || this.kubelet.get(ordinal) !== k) return;
            k.restarts++;
            try {
                p.startContainer(this.objects, this.logFile(ordinal));
            } catch (err) {
                p.log(`restarting the container failed: ${err}`);
            }
        }, delay);
    }

    /** The pod's Ready condition as the kubelet reports it (from its readiness probe's results). */
    ready(ordinal: number): boolean {
        return this.kubelet.get(ordinal)?.prober.ready ?? false;
    }

    /** How often the kubelet restarted the pod's container (the pod's restartCount). */
    restarts(ordinal: number): number {
        return this.kubelet.get(ordinal)?.restarts ?? 0;
    }

    /** Whether the pods run Patroni (whose ConfigMap carries patroni.yml). */
    get usesPatroni(): boolean {
        return [...this.objects.configMaps.values()].some((d) => d["patroni.yml"]);
    }

    /** The role label the role-labeler sidecar would have put on the pod: the `role` file the readiness
     * probe writes into the pod's "run" emptyDir (gone with the pod, as the label is). */
    roleLabel(ordinal: number): string | undefined {
        const p = this.pods.get(ordinal);
        if (!p?.created) return undefined;
        try {
            return fs.readFileSync(path.join(p.root, "mounts", "run", "role"), "utf8").trim();
        } catch {
            return undefined;
        }
    }

    /** The ordinals a Service would send clients to now, as Kubernetes computes endpoints: the pods whose
     * role label matches the Service's selector (rw: primary, ro: replica) and which are ready. */
    serviceEndpoints(service: "rw" | "ro"): number[] {
        if (this.node && this.usesPatroni) throw new Error("serviceEndpoints: with the Kubernetes store, Patroni labels the pods in the API; ask apiEndpoints");
        const role = service === "rw" ? "primary" : "replica";
        return [...this.pods.keys()].sort((x, y) => x - y).filter((i) => this.roleLabel(i) === role && this.ready(i));
    }

    /** Renders and starts every pod at once (podManagementPolicy Parallel). */
    async up(): Promise<void> {
        await this.render();
        for (let i = 0; i <= this.replicas; i++) this.start(i);
        await Promise.all(Array.from({ length: this.replicas + 1 }, (_, i) => this.waitReady(i)));
    }

    /** Waits until the kubelet reports the pod ready (its probes at their rendered periods). */
    async waitReady(ordinal: number, timeoutMs = 120000): Promise<void> {
        const p = this.pod(ordinal);
        const deadline = Date.now() + timeoutMs;
        while (Date.now() < deadline) {
            if (this.ready(ordinal)) return;
            if (!p.running && !(p.wanted && this.restartExited)) throw new Error(`${p.name} exited:\n${this.tail(ordinal)}`);
            await sleep(200);
        }
        const k = this.kubelet.get(ordinal);
        const last = k ? [...k.prober.lastFailure].map(([kind, out]) => `${kind}: ${out.trim()}`).join("; ") : "";
        throw new Error(`${p.name} not ready after ${timeoutMs} ms (running: ${p.running}, restarts: ${this.restarts(ordinal)}; last failures: ${last || "none"})\n${this.tail(ordinal)}`);
    }

    /** Stops a pod's container as the test asks (it stays down, whatever the restart policy; the pod and
     * its emptyDirs stay). */
    async stop(ordinal: number, signal: NodeJS.Signals): Promise<void> {
        const k = this.kubelet.get(ordinal);
        if (k?.pending) clearTimeout(k.pending);
        if (k) k.pending = undefined;
        await this.pod(ordinal).stop(signal);
    }

    /** A crash: the container gets `signal` and dies; the restart policy restarts it (emptyDirs kept). */
    async kill(ordinal: number, signal: NodeJS.Signals = "SIGKILL"): Promise<void> {
        await this.pod(ordinal).kill(signal);
    }

    /** Deletes the pod (the stop signal, then SIGKILL after terminationGracePeriodSeconds unless
     * `gracePeriodSeconds` says otherwise); with `recreate`, as the StatefulSet controller does, a new pod
     * of that name starts at once: fresh emptyDirs, init containers, the same volume. */
    async deletePod(ordinal: number, options: { recreate?: boolean; gracePeriodSeconds?: number } = {}): Promise<void> {
        const p = this.pod(ordinal);
        this.forgetKubelet(ordinal);
        await p.delete(options.gracePeriodSeconds === undefined ? undefined : options.gracePeriodSeconds * 1000);
        const uid = this.apiPods.get(ordinal);
        if (this.node && uid) {
            this.apiPods.delete(ordinal);
            await this.node.deletePod(this.namespace, p.name, uid);
            // The StatefulSet controller makes a new pod of that name (when the ordinal is still in its range).
            if (options.recreate ?? true) await this.admit(ordinal, uid);
        }
        if (options.recreate ?? true) this.start(ordinal);
    }

    /** The kubelet's work for a pod that goes: its pending restart, its prober, and its line in the node's
     * table of running containers (no exec reaches it any more). */
    private forgetKubelet(ordinal: number): void {
        const k = this.kubelet.get(ordinal);
        if (k?.pending) clearTimeout(k.pending);
        k?.prober.stop();
        this.kubelet.delete(ordinal);
        this.node?.running(this.namespace, `${this.name}-${ordinal}`, "postgres", undefined);
    }

    /** The test's stop and start of a container (emptyDirs kept). */
    async restart(ordinal: number, signal: NodeJS.Signals): Promise<void> {
        await this.stop(ordinal, signal);
        this.start(ordinal);
    }

    /** Changes the args and applies them as `pulumi up` and the kubelet would: ConfigMaps and Secrets
     * refresh in running pods, new ordinals start, removed ones are deleted (their volumes stay). */
    async apply(args: ReplicatedDatabaseArgs): Promise<void> {
        const before = this.replicas;
        this.args = { ...this.args, ...args };
        await this.render();
        for (const [i, p] of this.pods) {
            if (p.created && i <= this.replicas) p.materialise(this.objects, false);
        }
        for (let i = this.replicas + 1; i <= before; i++) await this.deletePod(i, { recreate: false });
        for (let i = before + 1; i <= this.replicas; i++) this.start(i);
    }

    /** A hand edit of one key of a ConfigMap or Secret (`kubectl edit`), not a render: on the node, made in the
     * API; the running pods see it as the kubelet swaps the files; a later apply() renders the component's own
     * value again. */
    async editObject(kind: "configMaps" | "secrets", name: string, key: string, value: string): Promise<void> {
        const data = this.objects[kind].get(name);
        if (data === undefined) throw new Error(`no ${kind} object named ${name}`);
        if (this.node) {
            const resource = kind === "configMaps" ? "configmaps" : "secrets";
            const patch = kind === "configMaps" ? { data: { [key]: value } } : { stringData: { [key]: value } };
            const r = await this.node.cp.request("PATCH", `/api/v1/namespaces/${this.namespace}/${resource}/${name}`, patch, { contentType: "application/merge-patch+json" });
            if (r.status !== 200) throw new Error(`edit ${resource}/${name}: ${r.status} ${JSON.stringify(r.body)}`);
        }
        data[key] = value;
        for (const p of this.pods.values()) if (p.running) p.materialise(this.objects, false);
    }

    /** `kubectl exec` into a running pod's database container (Pod.exec). */
    exec(ordinal: number, command: string[], timeoutMs?: number): ReturnType<Pod["exec"]> {
        return this.pod(ordinal).exec(command, timeoutMs);
    }

    /** A key of the credentials Secret the database pods mount; throws when it has no such key. */
    secret(key: string): string {
        const volume = this.objects.statefulSet.spec.template.spec.volumes.find((v: any) => v.name === "secret");
        const s = this.objects.secrets.get(volume.secret.secretName);
        if (s?.[key] === undefined) throw new Error(`the credentials Secret ${volume.secret.secretName} has no key ${key}`);
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
        const conninfo = `${this.hosts(ordinal)} port=5432 user=${user} dbname=${opts.database ?? "app"} connect_timeout=5${opts.replication ? " replication=true" : ""}`;
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

    /** Under tests/stress/repeat.sh (RDB_KEEP_DIR, removed again when the run passed): the logs in the cluster's
     * directory (the pods', and those of the Service proxies, poolers and clients a test put there, .log
     * and .jsonl) are copied there before the directory goes, each cluster into a folder of its own. */
    private keepLogs(): void {
        const keep = process.env.RDB_KEEP_DIR;
        if (!keep || !fs.existsSync(this.base)) return;
        const to = path.join(keep, path.basename(this.base));
        fs.mkdirSync(to, { recursive: true });
        for (const f of fs.readdirSync(this.base).filter((x) => x.endsWith(".log") || x.endsWith(".jsonl"))) fs.copyFileSync(path.join(this.base, f), path.join(to, f));
    }

    /** Stops every pod and removes every file the cluster made. */
    async cleanup(): Promise<void> {
        for (const k of this.kubelet.values()) {
            if (k.pending) clearTimeout(k.pending);
            k.prober.stop();
        }
        this.kubelet.clear();
        for (const p of this.pods.values()) {
            p.wanted = false;
            try {
                await p.kill("SIGKILL", 10000);
            } catch {
                p.killGroup();
            }
        }
        for (const proxy of this.proxies.values()) await proxy.stop();
        this.proxies.clear();
        if (this.statusTimer) clearInterval(this.statusTimer);
        if (this.node) {
            this.node = undefined;
            await HarnessNode.release();
        }
        this.keepLogs();
        fs.rmSync(this.base, { recursive: true, force: true });
        // The mount points made on the host stay: removing one detaches that mount in every other mount
        // namespace, including the pods of another run on this machine.
    }
}

export function sleep(ms: number): Promise<void> {
    return new Promise((resolve) => setTimeout(resolve, ms));
}

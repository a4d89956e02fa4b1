/**
 * The harness as a Kubernetes node: a real control plane (controlplane.ts: etcd, kube-apiserver,
 * kube-controller-manager, kube-scheduler) and a Node registered with it that the harness plays the kubelet of.
 *
 * What is real: the objects the render holds are applied to the API server (`kubectl apply --server-side`, as
 * the tests of tests/controlplane/ do); the real StatefulSet controller creates the pods; every call a pod's
 * process makes to the API (Patroni's store: its ConfigMaps, its own pod's labels and annotations) carries a
 * ServiceAccount token the TokenRequest API bound to that pod, and is authorized by the rendered Role through
 * RBAC. A missing right makes Patroni fail, and with it the test.
 *
 * What this node does that a kubelet does, and how:
 * - registers a Node (Ready, with capacity) and renews its Lease every few seconds, so that the node lifecycle
 *   controller never taints it or evicts its pods;
 * - binds the StatefulSet's pods to itself (the binding subresource, as the scheduler would): the claims stay
 *   Pending (no provisioner runs; the harness's per-pod directories are the volumes), and the scheduler does not
 *   place a pod whose claims are unbound, so the node binds them itself;
 * - projects the token volume: a TokenRequest bound to the pod (its name and uid), the namespace's
 *   `kube-root-ca.crt`, the namespace, with KUBERNETES_SERVICE_HOST/PORT in the containers' env;
 * - reports each pod's status (phase, podIP, the Ready and ContainersReady conditions from the harness's
 *   prober, the database container's state and restart count) whenever it changes;
 * - serves `kubectl exec` with its streaming server (tools/controlplane/node-stream), from the table of running
 *   containers that `running` keeps;
 * - runs a Job's pod to its end (job.ts) and reports it Succeeded or Failed.
 *
 * What stays the harness's: the containers are processes in mount namespaces (pod.ts), the pods' addresses are
 * in a network local to the run (10.244.0.0/16 on its loopback interface, isolated.sh), and
 * KUBERNETES_SERVICE_HOST is the API server's own address (no kube-proxy routes the `kubernetes` Service's cluster
 * IP). The Service stand-ins (service.ts) route to the ready addresses of the EndpointSlices that the real
 * EndpointSlice controller computes from the pods this node reports.
 *
 * One node per test process, started by the first cluster that asks and stopped when the last lets go
 * (each test file then meets a fresh API: no leader ConfigMap of an earlier file's cluster).
 */
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as net from "net";
import * as path from "path";
import { Manifest } from "../../render/manifests";
import { installCrds } from "../controlplane/support";
import { API_ADDRESS, API_PORT, ControlPlane, NODE_STREAM } from "./controlplane";

export const NODE_NAME = NODE_STREAM.nodeName;
const LEASE_RENEW_MS = 5000;

/** What the harness knows of one pod's container, reported to the API as the kubelet would. */
export interface ObservedPod {
    podIP: string;
    running: boolean;
    ready: boolean;
    restarts: number;
    /** When the running container started (ms since the epoch). */
    startedAt: number;
    image: string;
    /** The container's name. @default "postgres" */
    container?: string;
    /** A container that has exited for good (a Job's, restartPolicy Never): its exit code, and when. The pod's
     * phase is then Succeeded or Failed. */
    exitCode?: number;
    finishedAt?: number;
}

/** What a pod's processes need to reach the API as the pod's ServiceAccount. */
export interface ApiAccess {
    token: string;
    ca: string;
    namespace: string;
    host: string;
    port: number;
}

/** The pod object of the API's status as this node reports it. Pure: the status is a function of what the
 * harness observed. */
export function podStatus(o: ObservedPod, now: Date): Record<string, unknown> {
    const t = (ms: number) => new Date(Math.floor(ms / 1000) * 1000).toISOString().replace(".000Z", "Z");
    const condition = (type: string, ok: boolean) => ({ type, status: ok ? "True" : "False", lastTransitionTime: t(now.getTime()) });
    const done = o.exitCode !== undefined;
    const state = done
        ? { terminated: { exitCode: o.exitCode, reason: o.exitCode === 0 ? "Completed" : "Error", startedAt: t(o.startedAt), finishedAt: t(o.finishedAt ?? now.getTime()) } }
        : o.running ? { running: { startedAt: t(o.startedAt) } } : { waiting: { reason: "CrashLoopBackOff" } };
    return {
        phase: done ? (o.exitCode === 0 ? "Succeeded" : "Failed") : "Running",
        hostIP: "127.0.0.1",
        hostIPs: [{ ip: "127.0.0.1" }],
        podIP: o.podIP,
        podIPs: [{ ip: o.podIP }],
        startTime: t(o.startedAt),
        conditions: [
            condition("PodScheduled", true),
            condition("Initialized", true),
            condition("ContainersReady", o.ready),
            condition("Ready", o.ready),
        ],
        containerStatuses: [
            {
                name: o.container ?? "postgres",
                image: o.image,
                imageID: "",
                ready: o.ready,
                started: o.running,
                restartCount: o.restarts,
                state,
            },
        ],
    };
}

export class HarnessNode {
    private static shared?: { node: Promise<HarnessNode>; users: number };
    private lease?: NodeJS.Timeout;
    /** The last status sent per pod (namespace/name), so that only a change is sent. */
    private readonly sent = new Map<string, string>();
    /** The streaming server's table of running containers ("namespace pod container" to pid). */
    private readonly containers = new Map<string, number>();
    private table = "";

    private constructor(readonly cp: ControlPlane) {}

    /** The process's node, started on first use. */
    static async acquire(): Promise<HarnessNode> {
        if (!HarnessNode.shared) {
            const node = (async () => {
                const cp = await ControlPlane.start();
                const n = new HarnessNode(cp);
                try {
                    await n.register();
                    await n.startStreaming();
                    // The monitoring and cert-manager objects of a render apply against the upstream CRDs.
                    await installCrds(cp);
                } catch (err) {
                    await cp.stop();
                    throw err;
                }
                return n;
            })();
            HarnessNode.shared = { node, users: 0 };
            node.catch(() => (HarnessNode.shared = undefined));
        }
        HarnessNode.shared.users++;
        return HarnessNode.shared.node;
    }

    /** Lets go of the node; the last user stops it and its control plane. */
    static async release(): Promise<void> {
        const s = HarnessNode.shared;
        if (!s) return;
        s.users--;
        if (s.users > 0) return;
        HarnessNode.shared = undefined;
        const node = await s.node;
        if (node.lease) clearInterval(node.lease);
        await node.cp.stop();
    }

    private async register(): Promise<void> {
        const now = new Date().toISOString().replace(/\.\d+Z$/, "Z");
        const node = {
            apiVersion: "v1",
            kind: "Node",
            metadata: { name: NODE_NAME, labels: { "kubernetes.io/hostname": NODE_NAME, "kubernetes.io/os": "linux" } },
            spec: {},
        };
        await this.ok(this.cp.request("POST", "/api/v1/nodes", node), [201], "register the node");
        const capacity = { cpu: "2", memory: "24Gi", pods: "110", "ephemeral-storage": "100Gi" };
        await this.ok(this.cp.request("PATCH", `/api/v1/nodes/${NODE_NAME}/status`, {
            status: {
                capacity,
                allocatable: capacity,
                addresses: [{ type: "InternalIP", address: NODE_STREAM.address }, { type: "Hostname", address: NODE_NAME }],
                // Where the API server opens `kubectl exec` streams: this node's streaming server.
                daemonEndpoints: { kubeletEndpoint: { Port: NODE_STREAM.port } },
                conditions: [{ type: "Ready", status: "True", reason: "KubeletReady", message: "the harness runs pods", lastHeartbeatTime: now, lastTransitionTime: now }],
                nodeInfo: { kubeletVersion: `v${this.cp.versions.KUBERNETES_VERSION}`, architecture: "amd64", operatingSystem: "linux" },
            },
        }, { contentType: "application/merge-patch+json" }), [200], "report the node Ready");
        await this.renewLease(true);
        this.lease = setInterval(() => this.renewLease(false).catch(() => undefined), LEASE_RENEW_MS);
        this.lease.unref();
    }

    /**
     * The kubelet's streaming server (tools/controlplane/node-stream, built by build.sh): the end of
     * `kubectl exec`, taking streams from the API server only and running the command in the container as a
     * runtime does (its mount namespace, its user, its environment). It finds the containers in the table
     * that `running` keeps.
     */
    private async startStreaming(): Promise<void> {
        const root = path.join(__dirname, "..", "..");
        const dir = execFileSync("bash", [path.join(root, "tools", "controlplane", "build.sh"), "dir", "node-stream"], { encoding: "utf8" }).trim();
        if (!fs.existsSync(path.join(dir, "stamp"))) throw new Error(`${dir} is not built: run tools/controlplane/build.sh node-stream (or tools/setup.sh)`);
        this.table = path.join(this.cp.dir, "containers");
        fs.writeFileSync(this.table, "");
        const pki = (f: string) => path.join(this.cp.pki, f);
        this.cp.launch("node-stream", path.join(dir, "bin", "node-stream"), [
            "--address", `${NODE_STREAM.address}:${NODE_STREAM.port}`,
            "--tls-cert-file", pki("node.crt"), "--tls-private-key-file", pki("node.key"),
            "--client-ca-file", pki("ca.crt"), "--containers", this.table,
        ]);
        await this.cp.waitFor("the node's streaming server", () => new Promise<boolean>((resolve) => {
            const sock = net.connect(NODE_STREAM.port, NODE_STREAM.address, () => (sock.destroy(), resolve(true)));
            sock.on("error", () => resolve(false));
        }), 30000);
    }

    /** Records where a pod's container runs (its main process), or that it does not (`pid` undefined), for
     * the streaming server; written only when it changes. */
    running(namespace: string, pod: string, container: string, pid: number | undefined): void {
        const key = `${namespace} ${pod} ${container}`;
        if (this.containers.get(key) === pid) return;
        if (pid === undefined) this.containers.delete(key);
        else this.containers.set(key, pid);
        const lines = [...this.containers].map(([k, v]) => `${k} ${v}\n`).join("");
        fs.writeFileSync(`${this.table}.tmp`, lines);
        fs.renameSync(`${this.table}.tmp`, this.table);
    }

    private async renewLease(create: boolean): Promise<void> {
        const renewTime = new Date().toISOString().replace("Z", "000Z");
        const lease = {
            apiVersion: "coordination.k8s.io/v1",
            kind: "Lease",
            metadata: { name: NODE_NAME, namespace: "kube-node-lease" },
            spec: { holderIdentity: NODE_NAME, leaseDurationSeconds: 40, renewTime },
        };
        const url = "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases";
        if (create) await this.ok(this.cp.request("POST", url, lease), [201], "create the node's Lease");
        else await this.cp.request("PATCH", `${url}/${NODE_NAME}`, { spec: { renewTime } }, { contentType: "application/merge-patch+json" });
    }

    private async ok(r: Promise<{ status: number; body: any }>, codes: number[], what: string): Promise<any> {
        const res = await r;
        if (!codes.includes(res.status)) throw new Error(`${what}: ${res.status} ${typeof res.body === "string" ? res.body : JSON.stringify(res.body)}`);
        return res.body;
    }

    /** Creates the namespace unless it exists (a deployment's namespace is the user's, made before it). */
    async ensureNamespace(namespace: string): Promise<void> {
        if ((await this.cp.request("GET", `/api/v1/namespaces/${namespace}`)).status === 200) return;
        await this.ok(this.cp.request("POST", "/api/v1/namespaces", { apiVersion: "v1", kind: "Namespace", metadata: { name: namespace } }), [201, 409], `create namespace ${namespace}`);
    }

    /** Applies the render's objects as the admin (`kubectl apply --server-side`, the field manager a
     * deployment tool would be); an object the API refuses fails with kubectl's message. */
    async apply(manifests: Manifest[]): Promise<void> {
        const list = { apiVersion: "v1", kind: "List", items: manifests };
        await this.cp.kubectl(["apply", "--server-side", "--force-conflicts", "--field-manager", "replicated-db-test", "-f", "-"], { input: JSON.stringify(list) });
    }

    /**
     * Waits for the pod the StatefulSet controller creates (another than `previousUid`, after a deletion),
     * binds it to this node, and returns its uid and what its processes need to reach the API.
     */
    async admit(namespace: string, name: string, previousUid?: string, timeoutMs = 60000): Promise<{ uid: string; access: ApiAccess }> {
        const url = `/api/v1/namespaces/${namespace}/pods/${name}`;
        const deadline = Date.now() + timeoutMs;
        let pod: any;
        for (;;) {
            const r = await this.cp.request("GET", url);
            if (r.status === 200 && r.body.metadata.uid !== previousUid && !r.body.metadata.deletionTimestamp) {
                pod = r.body;
                break;
            }
            if (Date.now() > deadline) {
                const events = await this.cp.kubectlCode(["get", "events", "-n", namespace, "-o", "custom-columns=OBJ:.involvedObject.name,REASON:.reason,MSG:.message"]);
                throw new Error(`pod ${namespace}/${name} not created by the StatefulSet controller within ${timeoutMs} ms\n${events.stdout}`);
            }
            await new Promise((resolve) => setTimeout(resolve, 100));
        }
        const uid: string = pod.metadata.uid;
        if (!pod.spec.nodeName) {
            const bound = await this.cp.request("POST", `${url}/binding`, {
                apiVersion: "v1",
                kind: "Binding",
                metadata: { name, namespace, uid },
                target: { apiVersion: "v1", kind: "Node", name: NODE_NAME },
            });
            // The real kube-scheduler may bind it first, to this node (the only one): 409, and the pod is where it
            // must be. Seen once in a clean-clone CI run (a backup Job's pod). Any other node or answer is an error.
            if (bound.status !== 201) {
                const now = await this.cp.request("GET", url);
                if (!(bound.status === 409 && now.status === 200 && now.body.metadata.uid === uid && now.body.spec.nodeName === NODE_NAME)) {
                    throw new Error(`bind ${name} to ${NODE_NAME}: ${bound.status} ${typeof bound.body === "string" ? bound.body : JSON.stringify(bound.body)}`);
                }
            }
        }
        const sa = pod.spec.serviceAccountName ?? "default";
        const projected = (pod.spec.volumes ?? []).find((v: any) => v.projected)?.projected;
        const expirationSeconds = projected?.sources?.find((s: any) => s.serviceAccountToken)?.serviceAccountToken?.expirationSeconds ?? 3607;
        const tr = await this.ok(this.cp.request("POST", `/api/v1/namespaces/${namespace}/serviceaccounts/${sa}/token`, {
            apiVersion: "authentication.k8s.io/v1",
            kind: "TokenRequest",
            spec: { expirationSeconds, boundObjectRef: { apiVersion: "v1", kind: "Pod", name, uid } },
        }), [201], `a token for ${namespace}/${sa} bound to ${name}`);
        // Published into each namespace by the root-ca-cert-publisher controller; the kubelet waits for it too.
        let caMap: any;
        while (!(caMap = await this.get(namespace, "configmaps", "kube-root-ca.crt"))) {
            if (Date.now() > deadline) throw new Error(`no kube-root-ca.crt ConfigMap in ${namespace} within ${timeoutMs} ms`);
            await new Promise((resolve) => setTimeout(resolve, 100));
        }
        return { uid, access: { token: tr.status.token, ca: caMap.data["ca.crt"], namespace, host: API_ADDRESS, port: API_PORT } };
    }

    /** The name of the pod the Job controller made for Job `job` (waits for it). */
    async jobPod(namespace: string, job: string, timeoutMs = 60000): Promise<string> {
        const deadline = Date.now() + timeoutMs;
        for (;;) {
            const pods = (await this.podsOf(namespace, { "batch.kubernetes.io/job-name": job })).filter((p) => !p.metadata.deletionTimestamp);
            if (pods.length > 0) return pods[0].metadata.name;
            if (Date.now() > deadline) throw new Error(`no pod of Job ${namespace}/${job} within ${timeoutMs} ms`);
            await new Promise((resolve) => setTimeout(resolve, 100));
        }
    }

    /** Sends the pod's status when it differs from the last sent (a kubelet's status manager). */
    async report(namespace: string, name: string, uid: string, observed: ObservedPod): Promise<void> {
        const key = `${namespace}/${name}/${uid}`;
        const status = podStatus(observed, new Date());
        const fingerprint = JSON.stringify({ ...observed, startedAt: Math.floor(observed.startedAt / 1000) });
        if (this.sent.get(key) === fingerprint) return;
        const r = await this.cp.request("PATCH", `/api/v1/namespaces/${namespace}/pods/${name}/status`,
            { metadata: { uid }, status }, { contentType: "application/merge-patch+json" });
        // 409: the pod of that name is another one now (a deletion raced the report); the next round sends again.
        if (r.status === 200) this.sent.set(key, fingerprint);
        else if (r.status !== 409 && r.status !== 404) throw new Error(`status of ${name}: ${r.status} ${JSON.stringify(r.body)}`);
    }

    /** Deletes the pod object at once (the harness has stopped its processes), as the kubelet confirms a
     * deletion; the StatefulSet controller then creates a new pod of that name. */
    async deletePod(namespace: string, name: string, uid: string): Promise<void> {
        const r = await this.cp.request("DELETE", `/api/v1/namespaces/${namespace}/pods/${name}`,
            { apiVersion: "v1", kind: "DeleteOptions", gracePeriodSeconds: 0, preconditions: { uid } });
        if (r.status !== 200 && r.status !== 404 && r.status !== 409) throw new Error(`delete ${name}: ${r.status} ${JSON.stringify(r.body)}`);
    }

    /** The addresses of Service `service`'s ready endpoints, sorted: what kube-proxy would route to, read from the
     * EndpointSlices the EndpointSlice controller keeps for it. */
    async readyEndpoints(namespace: string, service: string): Promise<string[]> {
        const q = encodeURIComponent(`kubernetes.io/service-name=${service}`);
        const slices = (await this.ok(this.cp.request("GET", `/apis/discovery.k8s.io/v1/namespaces/${namespace}/endpointslices?labelSelector=${q}`), [200], "list EndpointSlices")).items;
        const out = new Set<string>();
        for (const slice of slices) {
            for (const e of slice.endpoints ?? []) if (e.conditions?.ready !== false) for (const a of e.addresses) out.add(a);
        }
        return [...out].sort();
    }

    /** The pod objects matching `selector` (label=value,...). */
    async podsOf(namespace: string, selector: Record<string, string>): Promise<any[]> {
        const q = encodeURIComponent(Object.entries(selector).map(([k, v]) => `${k}=${v}`).join(","));
        return (await this.ok(this.cp.request("GET", `/api/v1/namespaces/${namespace}/pods?labelSelector=${q}`), [200], "list pods")).items;
    }

    /** What a node needs to run the StatefulSet `name`: the StatefulSet, the namespace's ConfigMaps, Secrets and
     * Services, as the API holds them (with kind and apiVersion, which lists leave out). */
    async objectsFor(namespace: string, name: string): Promise<Manifest[]> {
        const sts = await this.ok(this.cp.request("GET", `/apis/apps/v1/namespaces/${namespace}/statefulsets/${name}`), [200], `read StatefulSet ${name}`);
        const list = async (kind: string, resource: string) =>
            ((await this.ok(this.cp.request("GET", `/api/v1/namespaces/${namespace}/${resource}`), [200], `list ${resource}`)).items as any[])
                .map((o) => ({ apiVersion: "v1", kind, ...o }));
        return [{ apiVersion: "apps/v1", kind: "StatefulSet", ...sts }, ...(await list("ConfigMap", "configmaps")), ...(await list("Secret", "secrets")), ...(await list("Service", "services"))];
    }

    /** An object of the namespace as JSON, or undefined when it does not exist. */
    async get(namespace: string, kind: string, name: string): Promise<any> {
        const r = await this.cp.request("GET", `/api/v1/namespaces/${namespace}/${kind}/${name}`);
        if (r.status === 404) return undefined;
        if (r.status !== 200) throw new Error(`get ${kind}/${name}: ${r.status} ${JSON.stringify(r.body)}`);
        return r.body;
    }
}

/**
 * A Kubernetes Service played on loopback: a TCP proxy on an address of its own (rw 127.0.0.5, ro
 * 127.0.0.6, port 5432) that sends each NEW connection to one of the Service's endpoints, as kube-proxy
 * does; a connection stays on the pod it reached until either side closes it.
 *
 * Endpoints are what the endpoints controller would publish: pods whose role label says primary (rw) or
 * replica (ro) AND whose last readiness probe passed. They are recomputed about every second in the test's
 * process (they lag, as kube-proxy's do) and handed to the proxy, which runs in a process of its own so that
 * a test blocked in a synchronous call never stalls the clients' traffic.
 *
 * With Patroni on its Kubernetes store (the harness as a node, node.ts) the endpoints are the ready addresses of
 * the Service's EndpointSlices, which the real EndpointSlice controller computes from the labels Patroni itself
 * patched onto its pod and the Ready condition the node reported from the harness's prober (`Cluster.apiEndpoints`).
 *
 * Otherwise readiness is the harness kubelet's (`Cluster.ready`); the role label is read here rather than
 * through `Cluster.serviceEndpoints` because with Patroni on etcd it comes from Patroni's REST API (that store
 * labels no pod), mapped to a label value as Patroni's Kubernetes store maps it with the rendered settings
 * (components/engines/postgres/topologies/patroni/roleLabels.ts).
 */
import { ChildProcess, fork } from "child_process";
import * as fs from "fs";
import * as net from "net";
import * as path from "path";
import { patroniRoleLabel } from "../../components/engines/postgres/topologies/patroni/roleLabels";
import { Cluster } from "./cluster";
import { PatroniTarget, patroniRequest } from "./patroniApi";
import { Pod } from "./pod";

export type ServiceName = "rw" | "ro";
export const SERVICE_ADDRESS: Record<ServiceName, string> = { rw: "127.0.0.5", ro: "127.0.0.6" };
export const SERVICE_PORT = 5432;

/** The pod addresses a Service would route to now. */
export type EndpointSource = (service: ServiceName) => Promise<string[]>;

/** The role label the pod would carry: the role-labeler's copy of `<run>/role` (manual mode), or the role
 * Patroni reports on its REST API (Patroni labels the pod itself). undefined: unlabelled. */
export async function roleLabel(c: PatroniTarget, pod: Pod, patroni: boolean): Promise<"primary" | "replica" | undefined> {
    if (patroni) {
        try {
            const r = await patroniRequest(c, pod.ordinal, "/", { timeoutMs: 1000 });
            const member = JSON.parse(r.text) as { role?: string; state?: string };
            const label = patroniRoleLabel(member.role, member.state);
            return label === "primary" || label === "replica" ? label : undefined;
        } catch {
            return undefined;
        }
    }
    try {
        const role = fs.readFileSync(path.join(pod.root, "mounts", "run", "role"), "utf8").trim();
        return role === "primary" || role === "replica" ? role : undefined;
    } catch {
        return undefined;
    }
}

/** Endpoints as Kubernetes computes them from labels and readiness. */
export function labelledReadyEndpoints(c: Cluster, patroni: boolean): EndpointSource {
    return async (service) => {
        if (c.node && patroni) return c.apiEndpoints(service);
        const want = service === "rw" ? "primary" : "replica";
        const out: string[] = [];
        for (const p of c.pods.values()) {
            // The kubelet's Ready condition (the harness's prober), as the endpoints controller reads it.
            if (c.ready(p.ordinal) && (await roleLabel(c, p, patroni)) === want) out.push(p.address);
        }
        return out;
    };
}

/** One Service: its proxy process and the loop that keeps its endpoints current. */
export class Service {
    private readonly proc: ChildProcess;
    private timer?: NodeJS.Timeout;
    private readonly exited: Promise<void>;
    /** Every change of endpoints, with its time, for the summary. */
    readonly history: { t: number; endpoints: string[] }[] = [];

    constructor(readonly name: ServiceName, private readonly endpoints: EndpointSource, log: string) {
        const out = fs.openSync(log, "a");
        this.proc = fork(__filename, ["--proxy", SERVICE_ADDRESS[name], String(SERVICE_PORT)], {
            execArgv: ["-r", "ts-node/register/transpile-only"],
            stdio: ["ignore", out, out, "ipc"],
        });
        fs.closeSync(out);
        this.exited = new Promise((resolve) => this.proc.once("exit", () => resolve()));
        const kill = () => this.proc.kill("SIGKILL");
        process.once("exit", kill);
        this.proc.once("exit", () => process.removeListener("exit", kill));
    }

    get address(): string {
        return SERVICE_ADDRESS[this.name];
    }

    /** Resolves once the proxy listens; then refreshes the endpoints every `periodMs`. */
    async start(periodMs = 1000): Promise<void> {
        await new Promise<void>((resolve, reject) => {
            this.proc.once("message", () => resolve());
            this.proc.once("exit", (code) => reject(new Error(`the ${this.name} Service proxy exited (${code})`)));
        });
        let busy = false;
        const refresh = async () => {
            if (busy) return;
            busy = true;
            try {
                const eps = await this.endpoints(this.name);
                const prev = this.history[this.history.length - 1]?.endpoints.join();
                if (prev !== eps.join()) this.history.push({ t: Date.now(), endpoints: eps });
                if (this.proc.connected) this.proc.send(eps);
            } finally {
                busy = false;
            }
        };
        await refresh();
        this.timer = setInterval(refresh, periodMs);
    }

    async stop(): Promise<void> {
        if (this.timer) clearInterval(this.timer);
        this.proc.kill("SIGKILL");
        await this.exited;
    }
}

/** The proxy process: listens on address:port, forwards each new connection to an endpoint (round robin). */
function runProxy(address: string, port: number): void {
    let endpoints: string[] = [];
    let next = 0;
    process.on("message", (m) => {
        const next = m as string[];
        // The log says when the Service's endpoints changed, to match against the clients' logs.
        if (next.join() !== endpoints.join()) console.log(`${new Date().toISOString()} endpoints: [${next.join(", ")}]`);
        endpoints = next;
    });
    process.on("disconnect", () => process.exit(0));
    const server = net.createServer((client) => {
        if (endpoints.length === 0) {
            // No endpoint: kube-proxy rejects the connection.
            client.destroy();
            return;
        }
        const target = endpoints[next++ % endpoints.length];
        const upstream = net.connect(port, target);
        client.pipe(upstream).pipe(client);
        const close = () => {
            client.destroy();
            upstream.destroy();
        };
        client.on("error", close);
        upstream.on("error", close);
        client.on("close", close);
        upstream.on("close", close);
    });
    server.listen(port, address, () => process.send?.("listening"));
}

if (require.main === module && process.argv[2] === "--proxy") {
    runProxy(process.argv[3], Number(process.argv[4]));
}

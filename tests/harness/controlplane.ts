/**
 * A real Kubernetes control plane for the tests: etcd, kube-apiserver, kube-controller-manager and
 * kube-scheduler, built by tools/controlplane/build.sh at the versions of tools/versions.env, on loopback
 * inside the run's own network namespace (tests/harness/isolated.sh; refused elsewhere, as the data-plane
 * harness does). No kubelet: pods the controllers create stay Pending unless the harness node (node.ts) runs them.
 *
 * What is real: the API server's schema validation, defaulting and immutability, the default admission
 * plugins with Pod Security admission, authentication by client certificates and ServiceAccount tokens
 * (TokenRequest), the Node,RBAC authorizer, and the controllers (StatefulSet, PV binder, CronJob, ...).
 * Everything lives in one temporary directory (etcd's data on tmpfs, without fsync: it dies with the run).
 */
import { ChildProcess, execFile, execFileSync, spawn } from "child_process";
import * as fs from "fs";
import * as https from "https";
import * as os from "os";
import * as path from "path";
import { promisify } from "util";
import { assertIsolated } from "./namespace";
import { POD_NETWORK_PREFIX } from "./pod";
import { toolVersions, toolsDir } from "./tools";

const execFileP = promisify(execFile);


/** Where build.sh put the binaries and CRDs; throws, saying what to run, when they are not there. */
export function controlPlaneTools(): { kubernetesBin: string; etcdBin: string; crdDir: string; versions: Record<string, string> } {
    const v = toolVersions();
    const base = toolsDir();
    const kubernetes = path.join(base, `kubernetes-${v.KUBERNETES_VERSION}`);
    const etcd = path.join(base, `etcd-${v.ETCD_VERSION}`);
    const crdDir = path.join(base, `crds-po${v.PROMETHEUS_OPERATOR_VERSION}-cm${v.CERT_MANAGER_VERSION}`);
    for (const dir of [kubernetes, etcd, crdDir]) {
        if (!fs.existsSync(path.join(dir, "stamp"))) {
            throw new Error(`${dir} is not built: run tools/controlplane/build.sh (or tools/setup.sh)`);
        }
    }
    return { kubernetesBin: path.join(kubernetes, "bin"), etcdBin: path.join(etcd, "bin"), crdDir, versions: v };
}

// Loopback only. Addresses of their own, apart from the data-plane pods' (10.244.0.10 and up, pod.ts) and the
// isolation fixture's etcd at 127.0.0.9, so that the two harnesses can share a run.
const ETCD_ADDRESS = "127.0.0.5";
export const API_ADDRESS = "127.0.0.6";
export const API_PORT = 6443;
/** The harness node (node.ts): its name, the InternalIP it reports and where its streaming server listens. */
export const NODE_STREAM = { nodeName: "harness-node", address: "127.0.0.1", port: 10250 };
/** The Service network: only allocated from, never dialled (there is no kube-proxy). */
const SERVICE_CIDR = "10.96.0.0/16";
const SERVICE_ACCOUNT_ISSUER = "https://kubernetes.default.svc.cluster.local";

export interface ApiResponse {
    status: number;
    body: any;
}

export interface StartTimes {
    /** Certificates, keys and kubeconfigs. */
    certsMs: number;
    /** etcd answering /health. */
    etcdMs: number;
    /** kube-apiserver answering /readyz (every post-start hook done). */
    apiserverMs: number;
    /** The controllers' own ServiceAccounts in place and the scheduler and controller-manager healthy. */
    controllersMs: number;
    totalMs: number;
}

interface Proc {
    name: string;
    child: ChildProcess;
    exited: Promise<void>;
}

export class ControlPlane {
    readonly dir: string;
    readonly pki: string;
    readonly adminKubeconfig: string;
    readonly times: StartTimes = { certsMs: 0, etcdMs: 0, apiserverMs: 0, controllersMs: 0, totalMs: 0 };
    private readonly procs: Proc[] = [];
    private readonly tools = controlPlaneTools();
    private readonly killAll = () => this.procs.forEach((p) => p.child.kill("SIGKILL"));

    private constructor() {
        // tmpfs: etcd's writes (and everything else here) never touch a disk.
        const tmp = fs.existsSync("/dev/shm") ? "/dev/shm" : os.tmpdir();
        this.dir = fs.mkdtempSync(path.join(tmp, "rdb-controlplane-"));
        this.pki = path.join(this.dir, "pki");
        this.adminKubeconfig = path.join(this.dir, "admin.kubeconfig");
    }

    /** Starts the four servers and waits for them; throws (after stopping what it started) on failure. */
    static async start(): Promise<ControlPlane> {
        assertIsolated();
        const cp = new ControlPlane();
        try {
            await cp.boot();
        } catch (err) {
            await cp.stop();
            throw err;
        }
        return cp;
    }

    get server(): string {
        return `https://${API_ADDRESS}:${API_PORT}`;
    }

    get versions(): Record<string, string> {
        return this.tools.versions;
    }

    get crdDir(): string {
        return this.tools.crdDir;
    }

    bin(name: string): string {
        return path.join(name === "etcd" ? this.tools.etcdBin : this.tools.kubernetesBin, name);
    }

    private async boot(): Promise<void> {
        const t0 = Date.now();
        this.makePki();
        this.times.certsMs = Date.now() - t0;

        const t1 = Date.now();
        const etcdUrl = `http://${ETCD_ADDRESS}:2379`;
        this.launch("etcd", this.bin("etcd"), [
            "--name", "controlplane", "--data-dir", path.join(this.dir, "etcd"),
            "--listen-client-urls", etcdUrl, "--advertise-client-urls", etcdUrl,
            "--listen-peer-urls", `http://${ETCD_ADDRESS}:2380`, "--initial-advertise-peer-urls", `http://${ETCD_ADDRESS}:2380`,
            "--initial-cluster", `controlplane=http://${ETCD_ADDRESS}:2380`,
            // A test store, thrown away with the run: durability buys nothing and costs every write a sync.
            "--unsafe-no-fsync",
            "--log-level", "warn",
        ]);
        await this.waitFor("etcd", async () => (await fetch(`${etcdUrl}/health`)).ok, 30000);
        this.times.etcdMs = Date.now() - t1;

        const t2 = Date.now();
        const p = (f: string) => path.join(this.pki, f);
        this.launch("kube-apiserver", this.bin("kube-apiserver"), [
            "--etcd-servers", etcdUrl,
            "--bind-address", API_ADDRESS, "--advertise-address", API_ADDRESS, "--secure-port", String(API_PORT),
            "--tls-cert-file", p("apiserver.crt"), "--tls-private-key-file", p("apiserver.key"),
            "--client-ca-file", p("ca.crt"),
            // The API server's own calls to a node (`kubectl exec`): with its kubelet client certificate, to the
            // Node's InternalIP, verifying the node's serving certificate with this CA.
            "--kubelet-client-certificate", p("apiserver-kubelet-client.crt"), "--kubelet-client-key", p("apiserver-kubelet-client.key"),
            "--kubelet-certificate-authority", p("ca.crt"), "--kubelet-preferred-address-types", "InternalIP",
            "--authorization-mode", "Node,RBAC",
            // ServiceAccount tokens: signed here, verified with the public half, bound to this audience.
            "--service-account-issuer", SERVICE_ACCOUNT_ISSUER,
            "--service-account-key-file", p("sa.pub"), "--service-account-signing-key-file", p("sa.key"),
            "--api-audiences", SERVICE_ACCOUNT_ISSUER,
            "--service-cluster-ip-range", SERVICE_CIDR,
            // The default admission plugins are left as they are (PodSecurity is among them, on by default).
            // The `kubernetes` Service keeps no endpoints: the only address is loopback, which an Endpoints
            // object may not hold, and nothing in the tests dials the Service.
            "--endpoint-reconciler-type", "none",
            "--allow-privileged=true",
            "--profiling=false",
            "-v", "1",
        ]);
        await this.waitFor("kube-apiserver /readyz", async () => (await this.request("GET", "/readyz")).status === 200, 90000);
        this.times.apiserverMs = Date.now() - t2;

        const t3 = Date.now();
        // A controller's own identity for the API, and for checking who may read its /healthz and /metrics.
        const serving = (kubeconfig: string, port: number) => {
            const file = path.join(this.dir, `${kubeconfig}.kubeconfig`);
            return ["--kubeconfig", file, "--authentication-kubeconfig", file, "--authorization-kubeconfig", file,
                "--bind-address", API_ADDRESS, "--secure-port", String(port), "--leader-elect=false"];
        };
        this.launch("kube-controller-manager", this.bin("kube-controller-manager"), [
            ...serving("controller-manager", 10257),
            // Each controller acts as its own ServiceAccount, with the bootstrap RBAC roles for it.
            "--use-service-account-credentials",
            "--service-account-private-key-file", p("sa.key"),
            "--root-ca-file", p("ca.crt"),
            "--cluster-signing-cert-file", p("ca.crt"), "--cluster-signing-key-file", p("ca.key"),
            "--service-cluster-ip-range", SERVICE_CIDR,
            // Scale the StatefulSet and PV controllers' reaction down to test time.
            "--concurrent-statefulset-syncs", "5",
            "--pvclaimbinder-sync-period", "2s",
            "-v", "1",
        ]);
        this.launch("kube-scheduler", this.bin("kube-scheduler"), [...serving("scheduler", 10259), "-v", "1"]);
        const healthy = (port: number) => this.insecureGet(`https://${API_ADDRESS}:${port}/healthz`);
        await this.waitFor("kube-controller-manager /healthz", async () => (await healthy(10257)) === 200, 90000);
        await this.waitFor("kube-scheduler /healthz", async () => (await healthy(10259)) === 200, 90000);
        // The StatefulSet controller's own ServiceAccount (and so its token) exists once the
        // controller-manager's token machinery has run: before that it cannot create pods.
        await this.waitFor("the controllers' ServiceAccounts", async () =>
            (await this.request("GET", "/api/v1/namespaces/kube-system/serviceaccounts/statefulset-controller")).status === 200, 60000);
        this.times.controllersMs = Date.now() - t3;
        this.times.totalMs = Date.now() - t0;
    }

    /** The CA, serving and client certificates (ECDSA P-256: fast to make), the SA key, the kubeconfigs. */
    private makePki(): void {
        fs.mkdirSync(this.pki, { recursive: true, mode: 0o700 });
        const ssl = (...args: string[]) => execFileSync("openssl", args, { cwd: this.pki, stdio: ["ignore", "ignore", "pipe"] });
        const key = (name: string) => ssl("ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", `${name}.key`);
        key("ca");
        ssl("req", "-x509", "-new", "-key", "ca.key", "-subj", "/CN=replicated-db-test-ca", "-days", "2", "-out", "ca.crt",
            "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign,digitalSignature");
        const cert = (name: string, subject: string, ext: string) => {
            key(name);
            ssl("req", "-new", "-key", `${name}.key`, "-subj", subject, "-out", `${name}.csr`);
            fs.writeFileSync(path.join(this.pki, `${name}.ext`), ext);
            ssl("x509", "-req", "-in", `${name}.csr`, "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial", "-days", "2",
                "-extfile", `${name}.ext`, "-out", `${name}.crt`);
        };
        const client = "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=clientAuth\n";
        // The first address of the Service network is the `kubernetes` Service's. The data-plane pods'
        // addresses too: a pod's own path to the API (store-proxy.ts) listens there and passes TLS through.
        const podAddresses = Array.from({ length: 71 }, (_, i) => `IP:${POD_NETWORK_PREFIX}${10 + i},IP:127.0.0.${10 + i}`).join(",");
        cert("apiserver", "/CN=kube-apiserver",
            "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n" +
            `subjectAltName=IP:${API_ADDRESS},IP:10.96.0.1,${podAddresses},DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local\n`);
        cert("apiserver-kubelet-client", "/O=kubeadm:cluster-admins/CN=kube-apiserver-kubelet-client", client);
        // The harness node's serving certificate (its streaming server, node.ts), at the Node's InternalIP.
        cert("node", `/O=system:nodes/CN=system:node:${NODE_STREAM.nodeName}`,
            "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n" +
            `subjectAltName=IP:${NODE_STREAM.address},DNS:${NODE_STREAM.nodeName}\n`);
        // system:masters: the test's own identity, allowed everything (and to impersonate for auth can-i --as).
        cert("admin", "/O=system:masters/CN=replicated-db-test-admin", client);
        cert("controller-manager", "/CN=system:kube-controller-manager", client);
        cert("scheduler", "/CN=system:kube-scheduler", client);
        ssl("ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", "sa.key");
        ssl("ec", "-in", "sa.key", "-pubout", "-out", "sa.pub");
        for (const [file, user] of [["admin", "admin"], ["controller-manager", "controller-manager"], ["scheduler", "scheduler"]]) {
            fs.writeFileSync(path.join(this.dir, `${file}.kubeconfig`), this.kubeconfig(user, {
                "client-certificate": path.join(this.pki, `${user}.crt`),
                "client-key": path.join(this.pki, `${user}.key`),
            }), { mode: 0o600 });
        }
    }

    private kubeconfig(user: string, credentials: Record<string, string>): string {
        return JSON.stringify({
            apiVersion: "v1",
            kind: "Config",
            clusters: [{ name: "test", cluster: { server: this.server, "certificate-authority": path.join(this.pki, "ca.crt") } }],
            users: [{ name: user, user: credentials }],
            contexts: [{ name: "test", context: { cluster: "test", user } }],
            "current-context": "test",
        }, null, 2);
    }

    /**
     * A kubeconfig that authenticates as ServiceAccount `name` of `namespace`, with a token from the
     * TokenRequest API (`kubectl create token`), as the kubelet would project one into the pod.
     */
    async serviceAccountKubeconfig(namespace: string, name: string): Promise<string> {
        const token = await this.serviceAccountToken(namespace, name);
        const file = path.join(this.dir, `sa-${namespace}-${name}.kubeconfig`);
        fs.writeFileSync(file, this.kubeconfig(`${namespace}-${name}`, { token }), { mode: 0o600 });
        return file;
    }

    /** A token for ServiceAccount `name` of `namespace`, from the TokenRequest API (what `kubectl create token` calls). */
    async serviceAccountToken(namespace: string, name: string): Promise<string> {
        const r = await this.request("POST", `/api/v1/namespaces/${namespace}/serviceaccounts/${name}/token`, {
            apiVersion: "authentication.k8s.io/v1",
            kind: "TokenRequest",
            spec: { audiences: [SERVICE_ACCOUNT_ISSUER], expirationSeconds: 3600 },
        });
        if (r.status !== 201) throw new Error(`TokenRequest for ${namespace}/${name}: ${r.status} ${JSON.stringify(r.body)}`);
        return r.body.status.token;
    }

    /** The real kubectl as the admin (or with another kubeconfig); rejects with stderr on a non-zero exit. */
    async kubectl(args: string[], options: { kubeconfig?: string; input?: string } = {}): Promise<{ stdout: string; stderr: string }> {
        const child = execFileP(this.bin("kubectl"), ["--kubeconfig", options.kubeconfig ?? this.adminKubeconfig, ...args], {
            maxBuffer: 64 * 1024 * 1024,
            env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: this.dir },
        });
        if (options.input !== undefined) {
            child.child.stdin!.end(options.input);
        }
        return child;
    }

    /** `kubectl` returning its exit code instead of throwing (auth can-i answers with it). */
    async kubectlCode(args: string[], options: { kubeconfig?: string } = {}): Promise<{ code: number; stdout: string; stderr: string }> {
        try {
            const r = await this.kubectl(args, options);
            return { code: 0, ...r };
        } catch (err: any) {
            if (typeof err.code !== "number") throw err;
            return { code: err.code, stdout: err.stdout ?? "", stderr: err.stderr ?? "" };
        }
    }

    /** One request to the API server as the admin (or with a bearer token), JSON in and out. */
    request(method: string, urlPath: string, body?: unknown, options: { token?: string; contentType?: string } = {}): Promise<ApiResponse> {
        const contentType = options.contentType ?? "application/json";
        // A token request carries no client certificate: it authenticates as the token's subject alone.
        const credentials = options.token
            ? { headers: { Authorization: `Bearer ${options.token}` } }
            : { cert: fs.readFileSync(path.join(this.pki, "admin.crt")), key: fs.readFileSync(path.join(this.pki, "admin.key")), headers: {} };
        const data = body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body);
        return new Promise((resolve, reject) => {
            const req = https.request({
                host: API_ADDRESS, port: API_PORT, method, path: urlPath,
                ca: fs.readFileSync(path.join(this.pki, "ca.crt")),
                ...("cert" in credentials ? { cert: credentials.cert, key: credentials.key } : {}),
                headers: { Accept: "application/json", ...credentials.headers, ...(data !== undefined ? { "Content-Type": contentType, "Content-Length": Buffer.byteLength(data) } : {}) },
                timeout: 30000,
            }, (res) => {
                let text = "";
                res.setEncoding("utf8");
                res.on("data", (c) => (text += c));
                res.on("end", () => {
                    let parsed: any = text;
                    try {
                        parsed = JSON.parse(text);
                    } catch {
                        /* plain text (readyz) */
                    }
                    resolve({ status: res.statusCode ?? 0, body: parsed });
                });
            });
            req.on("timeout", () => req.destroy(new Error(`${method} ${urlPath}: timed out`)));
            req.on("error", reject);
            if (data !== undefined) req.write(data);
            req.end();
        });
    }

    /** The controller-manager's and scheduler's health ports serve their own self-signed certificates. */
    private insecureGet(url: string): Promise<number> {
        return new Promise((resolve, reject) => {
            https.get(url, { rejectUnauthorized: false, timeout: 5000 }, (res) => {
                res.resume();
                resolve(res.statusCode ?? 0);
            }).on("error", reject);
        });
    }

    /** The pid of one of the servers (etcd, kube-apiserver, ...), for a test that pauses it. */
    pid(name: string): number {
        const p = this.procs.find((x) => x.name === name);
        if (!p?.child.pid || p.child.exitCode !== null) throw new Error(`${name} is not running`);
        return p.child.pid;
    }

    /** Starts a server of the control plane's (its log in the directory, stopped with the rest). */
    launch(name: string, command: string, args: string[]): void {
        const log = fs.openSync(path.join(this.dir, `${name}.log`), "a");
        const child = spawn(command, args, { stdio: ["ignore", log, log] });
        fs.closeSync(log);
        // A binary that cannot be started (missing, not executable) is reported as its exit, not thrown.
        const exited = new Promise<void>((resolve) => {
            child.on("exit", () => resolve());
            child.on("error", (err) => {
                fs.appendFileSync(path.join(this.dir, `${name}.log`), `spawn failed: ${err.message}\n`);
                resolve();
            });
        });
        this.procs.push({ name, child, exited });
        if (this.procs.length === 1) process.once("exit", this.killAll);
    }

    /** The last lines of a server's log, for failure messages. */
    logTail(name: string, lines = 30): string {
        try {
            return fs.readFileSync(path.join(this.dir, `${name}.log`), "utf8").trimEnd().split("\n").slice(-lines).join("\n");
        } catch {
            return "";
        }
    }

    /** Polls `check` until it holds, failing early with the log of a server that exited. */
    async waitFor(what: string, check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
        const deadline = Date.now() + timeoutMs;
        while (Date.now() < deadline) {
            const dead = this.procs.find((p) => p.child.exitCode !== null || p.child.signalCode !== null || p.child.pid === undefined);
            if (dead) throw new Error(`${dead.name} exited (${dead.child.exitCode ?? dead.child.signalCode}) while waiting for ${what}:\n${this.logTail(dead.name)}`);
            try {
                if (await check()) return;
            } catch {
                /* not answering yet */
            }
            await new Promise((resolve) => setTimeout(resolve, 100));
        }
        throw new Error(`${what}: not ready within ${timeoutMs / 1000} s\n${this.procs.map((p) => `--- ${p.name}\n${this.logTail(p.name, 10)}`).join("\n")}`);
    }

    /** Stops every server (SIGTERM, then SIGKILL after 5 s) and removes the directory. */
    async stop(): Promise<void> {
        for (const p of [...this.procs].reverse()) {
            if (p.child.exitCode !== null || p.child.signalCode !== null || p.child.pid === undefined) continue;
            p.child.kill("SIGTERM");
            const timer = setTimeout(() => p.child.kill("SIGKILL"), 5000);
            await p.exited;
            clearTimeout(timer);
        }
        process.removeListener("exit", this.killAll);
        fs.rmSync(this.dir, { recursive: true, force: true });
    }
}

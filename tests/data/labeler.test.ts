/**
 * Scenario 10: the role-labeler sidecar, run with dash (busybox sh stands in) and curl against a local
 * HTTPS server playing the Kubernetes API: the path, the bearer token, the merge patch, retries, token
 * rotation; its heartbeat and the liveness probe that reads it, with the loop stopped (SIGSTOP) as a hang.
 * What it cannot show: the API server's RBAC decision (the Role is checked in the unit tests), and the
 * kubelet's restart itself.
 */
import * as assert from "assert";
import { ChildProcess, execFileSync, spawn, spawnSync } from "child_process";
import * as fs from "fs";
import * as https from "https";
import * as os from "os";
import * as path from "path";
import { AddressInfo } from "net";
import { renderComponent } from "../../render/render";
import { sleep } from "../harness/cluster";

interface Request {
    method: string;
    url: string;
    auth: string;
    contentType: string;
    body: string;
}

describe("the role-labeler sidecar", function () {
    this.timeout(60000);
    let dir: string;
    let server: https.Server;
    let labeler: ChildProcess;
    let output = "";
    const requests: Request[] = [];
    let failNext = 0;
    let env: Record<string, string>;
    let probeCommand: string[];

    before(async () => {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "rdb-labeler-"));
        for (const d of ["sa", "run", "state"]) fs.mkdirSync(path.join(dir, d));
        execFileSync("openssl", [
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=kubernetes",
            "-addext", "subjectAltName=IP:127.0.0.1",
            "-keyout", path.join(dir, "key.pem"), "-out", path.join(dir, "sa", "ca.crt"),
        ], { stdio: "ignore" });
        fs.writeFileSync(path.join(dir, "sa", "token"), "token-one");
        server = https.createServer({ key: fs.readFileSync(path.join(dir, "key.pem")), cert: fs.readFileSync(path.join(dir, "sa", "ca.crt")) }, (req, res) => {
            let body = "";
            req.on("data", (d) => (body += d));
            req.on("end", () => {
                requests.push({ method: req.method!, url: req.url!, auth: String(req.headers.authorization), contentType: String(req.headers["content-type"]), body });
                res.statusCode = failNext-- > 0 ? 500 : 200;
                res.end("{}");
            });
        });
        await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));

        // The sidecar's command and env as rendered, with the API server and the mounted dirs pointed here.
        const r = await renderComponent("db");
        const sts = r.manifests.find((m) => m.kind === "StatefulSet")!;
        const c = sts.spec.template.spec.containers.find((x: any) => x.name === "role-labeler");
        const scripts = r.manifests.find((m) => m.metadata.name === "db-scripts")!.data;
        fs.writeFileSync(path.join(dir, "role-labeler.sh"), scripts["role-labeler.sh"]);
        fs.writeFileSync(path.join(dir, "role-labeler-alive.sh"), scripts["role-labeler-alive.sh"]);
        probeCommand = c.livenessProbe.exec.command;
        env = { PATH: process.env.PATH!, KUBERNETES_SERVICE_HOST: "127.0.0.1", KUBERNETES_SERVICE_PORT: String((server.address() as AddressInfo).port) };
        for (const e of c.env) env[e.name] = e.value ?? (e.valueFrom.fieldRef.fieldPath === "metadata.name" ? "db-1" : "default");
        env.RDB_RUN_DIR = path.join(dir, "run");
        env.RDB_SERVICEACCOUNT_DIR = path.join(dir, "sa");
        env.RDB_LABEL_INTERVAL = "1";
        // The sidecar's own emptyDir, and a 2 s limit instead of 60 s so that a stopped loop shows within seconds.
        env.RDB_LABELER_HEARTBEAT = path.join(dir, "state", "heartbeat");
        env.RDB_LABELER_MAX_AGE = "2";
        assert.deepStrictEqual(c.command, ["/bin/sh", "/etc/replicated-db/scripts/role-labeler.sh"]);
        labeler = spawn("dash", [path.join(dir, "role-labeler.sh")], { env, stdio: ["ignore", "pipe", "pipe"] });
        labeler.stdout!.on("data", (d) => (output += d));
        labeler.stderr!.on("data", (d) => (output += d));
    });

    after(async () => {
        labeler?.kill("SIGTERM");
        server?.close();
        fs.rmSync(dir, { recursive: true, force: true });
    });

    async function waitFor(n: number): Promise<void> {
        for (let i = 0; i < 100 && requests.length < n; i++) await sleep(100);
        assert.strictEqual(requests.length, n, `expected ${n} requests, got ${requests.length}; output:\n${output}`);
    }

    it("does nothing until the readiness probe has written a role", async () => {
        await sleep(1500);
        assert.strictEqual(requests.length, 0);
    });

    it("merge-patches its own pod's role label with the mounted token", async () => {
        fs.writeFileSync(path.join(dir, "run", "role"), "replica\n");
        await waitFor(1);
        assert.deepStrictEqual(requests[0], {
            method: "PATCH",
            url: "/api/v1/namespaces/default/pods/db-1",
            auth: "Bearer token-one",
            contentType: "application/merge-patch+json",
            body: '{"metadata":{"labels":{"replicated-db.io/role":"replica"}}}',
        });
    });

    it("patches again only when the role changes, with the current token, and retries failures", async () => {
        await sleep(2500);
        assert.strictEqual(requests.length, 1, "no patch while the role stays the same");
        fs.writeFileSync(path.join(dir, "sa", "token"), "token-two");
        failNext = 1;
        fs.writeFileSync(path.join(dir, "run", "role"), "primary\n");
        await waitFor(3);
        assert.strictEqual(requests[2].body, '{"metadata":{"labels":{"replicated-db.io/role":"primary"}}}');
        assert.strictEqual(requests[2].auth, "Bearer token-two");
        assert.match(output, /labelling failed; retrying/);
        assert.ok(!output.includes("token-one") && !output.includes("token-two"), "the token never reaches the logs");
    });

    /** The liveness probe as the kubelet runs it (its command, the container's env), with dash for busybox sh. */
    function probe(extraEnv: Record<string, string> = {}): { status: number | null; out: string } {
        assert.deepStrictEqual(probeCommand, ["/bin/sh", "/etc/replicated-db/scripts/role-labeler-alive.sh"]);
        const p = spawnSync("dash", [path.join(dir, "role-labeler-alive.sh")], { env: { ...env, ...extraEnv }, encoding: "utf8", timeout: 2000 });
        return { status: p.status, out: p.stdout + p.stderr };
    }

    it("writes a heartbeat on every loop, and its liveness probe passes while it does", async () => {
        const first = Number(fs.readFileSync(env.RDB_LABELER_HEARTBEAT, "utf8"));
        assert.ok(Math.abs(first - Date.now() / 1000) <= 2, `heartbeat ${first}`);
        await sleep(2200);
        assert.ok(Number(fs.readFileSync(env.RDB_LABELER_HEARTBEAT, "utf8")) > first, "the heartbeat moves on");
        for (let i = 0; i < 4; i++) {
            assert.deepStrictEqual(probe(), { status: 0, out: "" });
            await sleep(800);
        }
    });

    it("fails liveness once its loop has stopped for longer than the limit, and passes again when it runs", async () => {
        labeler.kill("SIGSTOP");
        try {
            await sleep(1000);
            assert.strictEqual(probe().status, 0, "a short pause is within the limit");
            await sleep(3000);
            const stale = probe();
            assert.strictEqual(stale.status, 1);
            assert.match(stale.out, /^heartbeat [3-9]s old \(most 2s\)$/m);
        } finally {
            labeler.kill("SIGCONT");
        }
        await sleep(1500);
        assert.deepStrictEqual(probe(), { status: 0, out: "" });
    });

    it("fails liveness without a heartbeat, or with garbage in it", () => {
        const missing = probe({ RDB_LABELER_HEARTBEAT: path.join(dir, "state", "none") });
        assert.strictEqual(missing.status, 1);
        assert.match(missing.out, /no heartbeat in/);
        fs.writeFileSync(path.join(dir, "state", "bad"), "12ab\n");
        assert.strictEqual(probe({ RDB_LABELER_HEARTBEAT: path.join(dir, "state", "bad") }).status, 1);
    });

    it("stops at once on SIGTERM", async () => {
        const t0 = Date.now();
        labeler.kill("SIGTERM");
        await new Promise((resolve) => labeler.on("exit", resolve));
        assert.ok(Date.now() - t0 < 900, `took ${Date.now() - t0} ms`);
    });
});

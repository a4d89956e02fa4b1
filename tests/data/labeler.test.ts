/**
 * Scenario 10: the role-labeler sidecar, run with dash (busybox sh stands in) and curl against the real API
 * server of the harness's node (tests/harness/node.ts): the manual mode's render applied, the pod db-1 made by
 * the real StatefulSet controller, the sidecar holding a token the TokenRequest API bound to that pod, the
 * rendered Role deciding. Shown on the API's own objects: the label it merge-patches onto its pod, only on a
 * change, with the token file as it is now, retried after a refusal (a token of a ServiceAccount without the
 * right: 403); its heartbeat and the liveness probe that reads it, with the loop stopped (SIGSTOP) as a hang.
 * What it cannot show: the kubelet's restart itself.
 */
import * as assert from "assert";
import { ChildProcess, spawn, spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { renderComponent } from "../../render/render";
import { sleep } from "../harness/cluster";
import { API_ADDRESS, API_PORT } from "../harness/controlplane";
import { assertIsolated } from "../harness/namespace";
import { HarnessNode } from "../harness/node";

const ROLE_LABEL = "replicated-db.io/role";

describe("the role-labeler sidecar against the real API server", function () {
    this.timeout(120000);
    let dir: string;
    let node: HarnessNode;
    let labeler: ChildProcess;
    let output = "";
    let env: Record<string, string>;
    let probeCommand: string[];
    let podToken = "";

    const pod = async () => node.get("default", "pods", "db-1");
    const label = async () => (await pod())?.metadata?.labels?.[ROLE_LABEL];
    async function until(what: string, check: () => Promise<boolean>, timeoutMs = 20000): Promise<void> {
        const deadline = Date.now() + timeoutMs;
        while (!(await check())) {
            if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; the sidecar said:\n${output}`);
            await sleep(200);
        }
    }
    /** A token for `sa`, bound to db-1 as the kubelet's projected token is. */
    async function tokenFor(sa: string, uid: string): Promise<string> {
        const r = await node.cp.request("POST", `/api/v1/namespaces/default/serviceaccounts/${sa}/token`, {
            apiVersion: "authentication.k8s.io/v1",
            kind: "TokenRequest",
            spec: { expirationSeconds: 3600, boundObjectRef: { apiVersion: "v1", kind: "Pod", name: "db-1", uid } },
        });
        assert.strictEqual(r.status, 201, JSON.stringify(r.body));
        return r.body.status.token;
    }

    before(async () => {
        assertIsolated();
        node = await HarnessNode.acquire();
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "rdb-labeler-"));
        for (const d of ["sa", "run", "state"]) fs.mkdirSync(path.join(dir, d));
        // The render applied as a deployment tool would; the StatefulSet controller makes db-1, the node binds it.
        const r = await renderComponent("db");
        await node.apply(r.manifests);
        const { access } = await node.admit("default", "db-1");
        podToken = access.token;
        fs.writeFileSync(path.join(dir, "sa", "token"), access.token);
        fs.writeFileSync(path.join(dir, "sa", "ca.crt"), access.ca);
        fs.writeFileSync(path.join(dir, "sa", "namespace"), access.namespace);

        // The sidecar's command and env as rendered; the API server's own address stands for the Service's.
        const sts = r.manifests.find((m) => m.kind === "StatefulSet")!;
        const c = sts.spec.template.spec.containers.find((x: any) => x.name === "role-labeler");
        const scripts = r.manifests.find((m) => m.metadata.name === "db-scripts")!.data;
        fs.writeFileSync(path.join(dir, "role-labeler.sh"), scripts["role-labeler.sh"]);
        fs.writeFileSync(path.join(dir, "role-labeler-alive.sh"), scripts["role-labeler-alive.sh"]);
        probeCommand = c.livenessProbe.exec.command;
        env = { PATH: process.env.PATH!, KUBERNETES_SERVICE_HOST: API_ADDRESS, KUBERNETES_SERVICE_PORT: String(API_PORT) };
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
        if (dir) fs.rmSync(dir, { recursive: true, force: true });
        await HarnessNode.release();
    });

    it("does nothing until the readiness probe has written a role", async () => {
        await sleep(1500);
        assert.strictEqual(await label(), undefined);
    });

    it("merge-patches its own pod's role label with the mounted token", async () => {
        fs.writeFileSync(path.join(dir, "run", "role"), "replica\n");
        await until("the replica label on db-1", async () => (await label()) === "replica");
        // The API records who changed the label: curl's merge patch (an Update), not the admin's apply.
        const managers = ((await pod()).metadata.managedFields as any[]).filter((f) => JSON.stringify(f.fieldsV1 ?? {}).includes(ROLE_LABEL));
        assert.deepStrictEqual(managers.map((f) => [f.manager.split("/")[0], f.operation]), [["curl", "Update"]]);
    });

    it("patches again only when the role changes, with the token file as it is now; a refused patch is retried", async () => {
        const rv = (await pod()).metadata.resourceVersion;
        await sleep(2500);
        assert.strictEqual((await pod()).metadata.resourceVersion, rv, "no patch while the role stays the same");
        // A token of a ServiceAccount the Role does not name (the namespace's default; the API binds no other
        // ServiceAccount's token to this pod): the API refuses the patch (403), the sidecar retries.
        const uid = (await pod()).metadata.uid;
        fs.writeFileSync(path.join(dir, "sa", "token"), await node.cp.serviceAccountToken("default", "default"));
        fs.writeFileSync(path.join(dir, "run", "role"), "primary\n");
        await until("a refused patch", async () => /labelling failed; retrying/.test(output));
        await sleep(1500);
        assert.strictEqual(await label(), "replica", "refused: the label is unchanged");
        // A new token of its own ServiceAccount (a rotation by the kubelet): the next try succeeds.
        fs.writeFileSync(path.join(dir, "sa", "token"), await tokenFor((await pod()).spec.serviceAccountName, uid));
        await until("the primary label on db-1", async () => (await label()) === "primary");
        assert.ok(!output.includes(podToken) && !output.includes(fs.readFileSync(path.join(dir, "sa", "token"), "utf8")), "the token never reaches the logs");
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

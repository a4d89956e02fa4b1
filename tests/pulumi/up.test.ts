/**
 * The program (index.ts) as a user runs it: the real Pulumi engine and the real Kubernetes provider, against a real
 * API server with its controllers, with the harness as its node (tests/harness/node.ts), which runs the pods the
 * StatefulSet controller makes from what the API holds: `pulumi up` until the provider sees the pods ready, rows
 * written through the `writeConnectionString` output, the preview of a storage growth and of a shrink, a
 * switchover by `primaryOrdinal`, and `pulumi destroy`, checking what each leaves in the API and on the node.
 *
 * The passwords come from a Secret made beforehand (`existingSecretName`): the component's generated passwords need
 * @pulumi/random's provider, which the Go module proxy here does not serve; TLS is off for the same reason
 * (@pulumi/tls). The Service is the harness's stand-in (service.ts): the manual mode's role-labeler sidecar is
 * not run by the harness, so the rw Service follows the pods' role files and the Ready condition.
 */
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { spawnSync } from "child_process";
import { Cluster, sleep } from "../harness/cluster";
import { ControlPlane } from "../harness/controlplane";
import { HarnessNode } from "../harness/node";
import { PG_BIN } from "../harness/pod";
import { Service, labelledReadyEndpoints } from "../harness/service";
import { createNamespace } from "../controlplane/support";
import { EngineStack, ROOT, engineStack } from "./engine";

const NAMESPACE = "shop";
const PROGRAM = path.join(ROOT, "index.ts");

/** Runs the project's own program file, afresh for each engine run (it builds its component when loaded). */
async function program(): Promise<Record<string, unknown>> {
    delete require.cache[require.resolve(PROGRAM)];
    return require(PROGRAM);
}

const CONFIG: Record<string, string> = {
    "replicated-db:namespace": NAMESPACE,
    "replicated-db:replicas": "2",
    "replicated-db:storageSize": "1Gi",
    "replicated-db:createStorageClass": "true",
    "replicated-db:staticVolumes": JSON.stringify({ type: "hostPath", basePath: "/var/lib/replicated-db" }),
    "replicated-db:existingSecretName": "db-passwords",
    "replicated-db:tls": JSON.stringify({ enabled: false }),
};

describe("pulumi up of the program against a real API server", function () {
    this.timeout(600000);
    let cp: ControlPlane;
    let env: EngineStack;
    /** The pods the node runs, from the API's objects. */
    let db: Cluster | undefined;
    let rw: Service | undefined;
    let uri = "";
    /** psql through the connection string, as an application connects: the rw Service's name. */
    const psql = (sql: string) => {
        const r = spawnSync(`${PG_BIN}/psql`, ["-X", "-A", "-t", "-v", "ON_ERROR_STOP=1", uri, "-c", sql], { encoding: "utf8", timeout: 20000 });
        if (r.status !== 0) throw new Error(`psql: ${r.stderr.trim()}`);
        return r.stdout.trim();
    };
    const figures: string[] = [];

    const get = async (urlPath: string) => {
        const r = await cp.request("GET", urlPath);
        return r.status === 200 ? r.body : undefined;
    };
    const setConfig = async (values: Record<string, string>) => {
        for (const [key, value] of Object.entries(values)) await env.stack.setConfig(key, { value });
    };

    before(async () => {
        cp = (await HarnessNode.acquire()).cp;
        await createNamespace(cp, NAMESPACE, "baseline");
        const password = (k: string) => `${k}-${"x".repeat(24)}`;
        const secret = { superuser: "superuser-password", replication: "replication-password", app: "app-password", rewind: "rewind-password", monitoring: "monitoring-password" };
        const created = await cp.request("POST", `/api/v1/namespaces/${NAMESPACE}/secrets`, {
            apiVersion: "v1",
            kind: "Secret",
            metadata: { name: "db-passwords" },
            stringData: Object.fromEntries(Object.values(secret).map((k) => [k, password(k)])),
        });
        assert.strictEqual(created.status, 201, JSON.stringify(created.body));
        env = await engineStack("replicated-db", "real-api", program);
        await env.stack.setConfig("kubernetes:kubeconfig", { value: cp.adminKubeconfig });
        await setConfig(CONFIG);
    });

    after(async function () {
        this.timeout(60000);
        if (figures.length) console.log(`      figures: ${figures.join("; ")}`);
        await rw?.stop();
        await db?.cleanup();
        env?.cleanup();
        await HarnessNode.release();
    });

    it("`pulumi up` creates every object, the real controllers make the pods and bind the volumes, the node runs them until the provider sees them ready; rows go in through writeConnectionString", async () => {
        const t0 = Date.now();
        const running = env.stack.up();
        // The node runs what the API holds as soon as the StatefulSet is there; `pulumi up` waits for its pods ready.
        await waitFor("the StatefulSet", async () => (await get(`/apis/apps/v1/namespaces/${NAMESPACE}/statefulsets/db`)) !== undefined, 120000);
        db = new Cluster({ name: "db", fromApiNamespace: NAMESPACE });
        await db.up();
        const up = await running;
        figures.push(`pulumi up to ready ${((Date.now() - t0) / 1000).toFixed(1)} s`);
        assert.strictEqual(up.summary.result, "succeeded");
        const ready = await get(`/apis/apps/v1/namespaces/${NAMESPACE}/statefulsets/db`);
        assert.strictEqual(ready.status.readyReplicas, 3, "the StatefulSet controller counts the node's Ready pods");
        // Connection strings are secret outputs in the engine's own state too.
        assert.strictEqual(up.outputs.writeConnectionString.secret, true);
        assert.match(String(up.outputs.writeConnectionString.value), new RegExp(`@db-rw\\.${NAMESPACE}\\.svc\\.cluster\\.local:5432/app`));
        const sts = await get(`/apis/apps/v1/namespaces/${NAMESPACE}/statefulsets/db`);
        assert.strictEqual(sts.spec.replicas, 3);
        for (const name of ["db-settings", "db-scripts"]) assert.ok(await get(`/api/v1/namespaces/${NAMESPACE}/configmaps/${name}`), name);
        for (const name of ["db-rw", "db-ro", "db-headless"]) assert.ok(await get(`/api/v1/namespaces/${NAMESPACE}/services/${name}`), name);
        await waitFor("3 pods and 3 bound claims", async () => {
            const pods = (await get(`/api/v1/namespaces/${NAMESPACE}/pods`)).items;
            const claims = (await get(`/api/v1/namespaces/${NAMESPACE}/persistentvolumeclaims`)).items;
            return pods.length === 3 && claims.length === 3 && claims.every((c: any) => c.status.phase === "Bound");
        });
        // An application's way in: the output's connection string, to the rw Service's name.
        rw = new Service("rw", labelledReadyEndpoints(db, false), `${db.base}/service-rw.log`);
        await rw.start(250);
        uri = String(up.outputs.writeConnectionString.value);
        await db.until("the rw Service to have its endpoint", () => rw!.history.some((h) => h.endpoints.length === 1), 60000);
        psql("CREATE TABLE orders (id int PRIMARY KEY)");
        psql("INSERT INTO orders (id) SELECT g FROM generate_series(1, 100) g");
        assert.strictEqual(psql("SELECT count(*) FROM orders"), "100");
        assert.strictEqual(psql("SELECT pg_is_in_recovery()"), "f");
    });

    it("a storage growth previews as updates of the volumes and claims only, the StatefulSet and its pods untouched; a shrink is refused at preview", async () => {
        const podUids = async () => ((await get(`/api/v1/namespaces/${NAMESPACE}/pods`)).items as any[]).map((p) => `${p.metadata.name}/${p.metadata.uid}`).sort();
        const before = await podUids();
        const oldSts = (await get(`/apis/apps/v1/namespaces/${NAMESPACE}/statefulsets/db`)).metadata.uid;
        await setConfig({ "replicated-db:storageSize": "2Gi" });
        const steps: string[] = [];
        const preview = await env.stack.preview({
            diff: true,
            onEvent: (e) => {
                const m = e.resourcePreEvent?.metadata;
                if (m && m.op !== "same" && m.op !== "read" && !m.type.startsWith("pulumi:")) steps.push(`${m.op} ${m.urn.split("::").pop()}`);
            },
        });
        const changes = preview.changeSummary;
        console.log(`      steps: ${steps.sort().join(", ")}`);
        console.log(`      preview of 1Gi -> 2Gi: ${JSON.stringify(changes)}`);
        // The volumes and claims grow in place. The StatefulSet keeps its first volumeClaimTemplate (ignored by
        // the program), so nothing replaces it and no pod restarts.
        assert.deepStrictEqual(steps.sort(), ["update db-guard", ...[0, 1, 2].flatMap((i) => [`update db-pv-${i}`, `update db-pvc-${i}`])].sort());
        assert.strictEqual(changes.replace ?? 0, 0, JSON.stringify(changes));
        assert.strictEqual(changes.delete ?? 0, 0, JSON.stringify(changes));
        const t0 = Date.now();
        const up = await env.stack.up();
        figures.push(`growth 1Gi -> 2Gi by pulumi up ${((Date.now() - t0) / 1000).toFixed(1)} s`);
        assert.strictEqual(up.summary.result, "succeeded");
        const sts = await get(`/apis/apps/v1/namespaces/${NAMESPACE}/statefulsets/db`);
        assert.strictEqual(sts.metadata.uid, oldSts, "the same StatefulSet");
        assert.strictEqual(sts.spec.volumeClaimTemplates[0].spec.resources.requests.storage, "1Gi", "its first template");
        assert.deepStrictEqual(await podUids(), before, "the same pods, never deleted");
        for (const i of [0, 1, 2]) assert.strictEqual(db!.restarts(i), 0, `db-${i} never restarted`);
        for (const i of [0, 1, 2]) {
            const claim = await get(`/api/v1/namespaces/${NAMESPACE}/persistentvolumeclaims/data-db-${i}`);
            assert.strictEqual(claim.spec.resources.requests.storage, "2Gi", `claim of db-${i}`);
        }
        await setConfig({ "replicated-db:storageSize": "1Gi" });
        await assert.rejects(env.stack.preview(), (e: Error) => /invalid storageSize: "1Gi" \(allowed: at least the deployed "2Gi"/.test(e.message) || assert.fail(e.message));
        await setConfig({ "replicated-db:storageSize": "2Gi" });
    });

    it("a switchover by primaryOrdinal is one `pulumi up`: the pods read it from the API's ConfigMap, the rows stay, writes go on through the same connection string", async () => {
        await setConfig({ "replicated-db:primaryOrdinal": "1" });
        const t0 = Date.now();
        const up = await env.stack.up();
        assert.strictEqual(up.summary.result, "succeeded");
        const settings = await get(`/api/v1/namespaces/${NAMESPACE}/configmaps/db-settings`);
        assert.strictEqual(settings.data["primary-ordinal"], "1");
        // The pods see the ConfigMap within the node's sync period; db-0 hands over and db-1 takes writes.
        const address1 = db!.pod(1).address;
        await db!.until("db-1 the primary, behind the rw Service", () =>
            db!.roleLabel(1) === "primary" && rw!.history[rw!.history.length - 1]?.endpoints.join() === address1, 180000);
        figures.push(`switchover by pulumi up to db-1 behind the rw Service ${((Date.now() - t0) / 1000).toFixed(1)} s`);
        let accepted = false;
        while (!accepted) {
            try {
                psql("INSERT INTO orders (id) SELECT g FROM generate_series(101, 200) g");
                accepted = true;
            } catch (err) {
                if (Date.now() - t0 > 180000) throw err;
                await sleep(250);
            }
        }
        figures.push(`to the first write accepted there ${((Date.now() - t0) / 1000).toFixed(1)} s`);
        assert.strictEqual(psql("SELECT count(*) FROM orders"), "200", "the rows written before the switchover are there");
        assert.strictEqual(psql("SELECT host(inet_server_addr())"), db!.pod(1).address, "the rw Service leads to db-1 now");
    });

    it("`pulumi destroy` stops the pods before it deletes what they use, and keeps the volumes and claims", async () => {
        // What the pods use, and when each went: the pods must be gone before any of it.
        const used = [`/api/v1/namespaces/${NAMESPACE}/configmaps/db-settings`, `/api/v1/namespaces/${NAMESPACE}/configmaps/db-scripts`,
            `/api/v1/namespaces/${NAMESPACE}/serviceaccounts/db`, `/api/v1/namespaces/${NAMESPACE}/services/db-headless`,
            ...((await get(`/apis/rbac.authorization.k8s.io/v1/namespaces/${NAMESPACE}/rolebindings`)).items as any[]).map((b) =>
                `/apis/rbac.authorization.k8s.io/v1/namespaces/${NAMESPACE}/rolebindings/${b.metadata.name}`)];
        for (const p of used) assert.ok(await get(p), `${p} exists before destroy`);
        const gone = new Map<string, number>();
        let watching = true;
        const watcher = (async () => {
            while (watching) {
                const pods = ((await get(`/api/v1/namespaces/${NAMESPACE}/pods`)).items as any[]).length;
                if (pods === 0 && !gone.has("pods")) gone.set("pods", Date.now());
                for (const p of used) if (!gone.has(p) && (await get(p)) === undefined) gone.set(p, Date.now());
                await new Promise((r) => setTimeout(r, 50));
            }
        })();
        const t0 = Date.now();
        const destroy = await env.stack.destroy();
        figures.push(`pulumi destroy ${((Date.now() - t0) / 1000).toFixed(1)} s`);
        watching = false;
        await watcher;
        assert.strictEqual(destroy.summary.result, "succeeded");
        // The node stopped every container of the deleted pods: no database runs without its objects.
        for (const p of db!.pods.values()) assert.strictEqual(p.running, false, `${p.name} still runs`);
        // The data stays on the volumes (the harness's per-pod directories stand for the hostPath volumes).
        for (const p of db!.pods.values()) assert.ok(fs.existsSync(path.join(p.dataDir, "pgdata", "PG_VERSION")), `${p.name}'s volume keeps its data directory`);
        for (const i of [0, 1, 2]) {
            assert.ok(await get(`/api/v1/namespaces/${NAMESPACE}/persistentvolumeclaims/data-db-${i}`), `claim data-db-${i} kept`);
            assert.ok(await get(`/api/v1/persistentvolumes/db-${NAMESPACE}-data-${i}`) ?? (await firstVolume(i)), `volume ${i} kept`);
        }
        assert.strictEqual(await get(`/apis/apps/v1/namespaces/${NAMESPACE}/statefulsets/db`), undefined);
        assert.strictEqual(await get(`/api/v1/namespaces/${NAMESPACE}/configmaps/db-settings`), undefined);
        assert.ok(gone.has("pods"), "the pods were deleted");
        for (const p of used) {
            assert.ok(gone.has(p), `${p} deleted`);
            assert.ok(gone.get("pods")! <= gone.get(p)!, `the pods went before ${p}`);
        }
        // The user's own Secret is the user's.
        assert.ok(await get(`/api/v1/namespaces/${NAMESPACE}/secrets/db-passwords`));
        const left = async (p: string) => ((await get(p)).items as any[]).map((o) => o.metadata.name).join(" ") || "none";
        console.log(`      after destroy: pods ${await left(`/api/v1/namespaces/${NAMESPACE}/pods`)}; ` +
            `configmaps ${await left(`/api/v1/namespaces/${NAMESPACE}/configmaps`)}; secrets ${await left(`/api/v1/namespaces/${NAMESPACE}/secrets`)}`);
    });

    async function firstVolume(i: number): Promise<unknown> {
        const items = (await get("/api/v1/persistentvolumes")).items as any[];
        return items.find((pv) => pv.spec.claimRef?.name === `data-db-${i}`);
    }
});

async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs = 60000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!(await check())) {
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
        await new Promise((r) => setTimeout(r, 250));
    }
}

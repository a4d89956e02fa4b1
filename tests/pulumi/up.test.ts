/**
 * The program (index.ts) under the real Pulumi engine and the real Kubernetes provider, against a real API server
 * with its controllers (tests/harness/controlplane.ts): `pulumi up`, the preview of a storage growth and of a
 * shrink, a switchover by `primaryOrdinal`, and `pulumi destroy`, checking what each leaves in the API.
 *
 * What it cannot show yet: there is no node, so the pods the StatefulSet controller creates stay Pending and the
 * provider is told to wait only until the controller has seen the StatefulSet, not for ready pods
 * (`pulumi.com/waitFor` on the StatefulSet, added by a transform here, not by the component; its deletion is still
 * awaited as in production); no database runs. The passwords come from a Secret made beforehand (`existingSecretName`):
 * the component's generated passwords need @pulumi/random's provider, which the Go module proxy here does not
 * serve; TLS is off for the same reason (@pulumi/tls).
 */
import * as assert from "assert";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { ControlPlane } from "../harness/controlplane";
import { createNamespace } from "../controlplane/support";
import { EngineStack, ROOT, engineStack } from "./engine";

const NAMESPACE = "shop";
const PROGRAM = path.join(ROOT, "index.ts");

/** Runs the project's own program file, afresh for each engine run (it builds its component when loaded). */
async function program(): Promise<Record<string, unknown>> {
    pulumi.runtime.registerResourceTransform((args) => {
        if (args.type !== "kubernetes:apps/v1:StatefulSet") return undefined;
        const annotations = { ...args.props.metadata?.annotations, "pulumi.com/waitFor": "jsonpath={.status.observedGeneration}" };
        const metadata = { ...args.props.metadata, annotations };
        return { props: { ...args.props, metadata }, opts: args.opts };
    });
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

    const get = async (urlPath: string) => {
        const r = await cp.request("GET", urlPath);
        return r.status === 200 ? r.body : undefined;
    };
    const setConfig = async (values: Record<string, string>) => {
        for (const [key, value] of Object.entries(values)) await env.stack.setConfig(key, { value });
    };

    before(async () => {
        cp = await ControlPlane.start();
        await createNamespace(cp, NAMESPACE, "baseline");
        const password = (k: string) => `${k}-${"x".repeat(24)}`;
        const secret = { superuser: "superuser-password", replication: "replication-password", app: "app-password", monitoring: "monitoring-password" };
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
        env?.cleanup();
        await cp?.stop();
    });

    it("`pulumi up` creates every object, and the real controllers make the pods and bind the volumes", async () => {
        const up = await env.stack.up();
        assert.strictEqual(up.summary.result, "succeeded");
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
        const up = await env.stack.up();
        assert.strictEqual(up.summary.result, "succeeded");
        const sts = await get(`/apis/apps/v1/namespaces/${NAMESPACE}/statefulsets/db`);
        assert.strictEqual(sts.metadata.uid, oldSts, "the same StatefulSet");
        assert.strictEqual(sts.spec.volumeClaimTemplates[0].spec.resources.requests.storage, "1Gi", "its first template");
        assert.deepStrictEqual(await podUids(), before, "the same pods, never deleted");
        for (const i of [0, 1, 2]) {
            const claim = await get(`/api/v1/namespaces/${NAMESPACE}/persistentvolumeclaims/data-db-${i}`);
            assert.strictEqual(claim.spec.resources.requests.storage, "2Gi", `claim of db-${i}`);
        }
        await setConfig({ "replicated-db:storageSize": "1Gi" });
        await assert.rejects(env.stack.preview(), (e: Error) => /invalid storageSize: "1Gi" \(allowed: at least the deployed "2Gi"/.test(e.message) || assert.fail(e.message));
        await setConfig({ "replicated-db:storageSize": "2Gi" });
    });

    it("a switchover by primaryOrdinal is one `pulumi up`", async () => {
        await setConfig({ "replicated-db:primaryOrdinal": "1" });
        const up = await env.stack.up();
        assert.strictEqual(up.summary.result, "succeeded");
        const settings = await get(`/api/v1/namespaces/${NAMESPACE}/configmaps/db-settings`);
        assert.strictEqual(settings.data["primary-ordinal"], "1");
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
        const destroy = await env.stack.destroy();
        watching = false;
        await watcher;
        assert.strictEqual(destroy.summary.result, "succeeded");
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

/**
 * RBAC both ways with the real authorizer (Node,RBAC): for each ServiceAccount the component renders, every
 * verb/resource/name its containers use is allowed, and a table of what it must not do is refused. Each
 * check is a SelfSubjectAccessReview sent with the ServiceAccount's own token (TokenRequest), which is what
 * `kubectl auth can-i` sends with that token; a sample is also asked through the real kubectl, with
 * `--as=system:serviceaccount:NS:SA` and with a kubeconfig holding the token, and a real read with the token.
 *
 * The rights are tested as rendered today. Some are broader than the scripts need (the labeler's and
 * Patroni's patch on whole pods, Patroni's list/watch of every ConfigMap and pod of the namespace): they are
 * asserted as allowed here, so a change to them shows up. The backup Jobs hold no token and no rights.
 */
import * as assert from "assert";
import { ControlPlane } from "../harness/controlplane";
import { Manifest } from "../../render/manifests";
import { applyAndReadBack, createNamespace, eventually } from "./support";
import { VARIANTS, namespaceOf } from "../variants";

interface Check {
    verb: string;
    resource: string;
    subresource?: string;
    name?: string;
    group?: string;
    /** Another namespace than the ServiceAccount's. */
    namespace?: string;
}

const show = (c: Check) => `${c.verb} ${c.group ? `${c.resource}.${c.group}` : c.resource}${c.subresource ? `/${c.subresource}` : ""}${c.name ? ` ${c.name}` : ""}${c.namespace ? ` in ${c.namespace}` : ""}`;

/** The variants whose ServiceAccounts are checked, one of each kind of identity the component renders. */
const IDS = ["default", "patroni", "backup-s3", "backup-s3-patroni", "tls-off-pooler", "pod-update-policy-off"];
const OTHER_NS = "cp-rbac-other";

describe("control plane: RBAC of the rendered ServiceAccounts, with the real authorizer", function () {
    let cp: ControlPlane;
    const objects = new Map<string, Manifest[]>();

    before(async function () {
        this.timeout(600000);
        const rendered = new Map<string, Manifest[]>();
        for (const id of IDS) {
            const v = VARIANTS.find((x) => x.id === id)!;
            rendered.set(id, (await v.render(namespaceOf(v))).manifests);
        }
        cp = await ControlPlane.start();
        console.log(`      control plane up in ${(cp.times.totalMs / 1000).toFixed(1)} s`);
        await createNamespace(cp, OTHER_NS, "restricted");
        for (const id of IDS) {
            const v = VARIANTS.find((x) => x.id === id)!;
            await createNamespace(cp, namespaceOf(v), v.level);
            objects.set(id, await applyAndReadBack(cp, rendered.get(id)!.filter((m) => !m.apiVersion.includes("coreos.com"))));
        }
    });

    after(async function () {
        this.timeout(60000);
        await cp?.stop();
    });

    const tokens = new Map<string, string>();
    async function token(ns: string, sa: string): Promise<string> {
        const key = `${ns}/${sa}`;
        if (!tokens.has(key)) tokens.set(key, await cp.serviceAccountToken(ns, sa));
        return tokens.get(key)!;
    }

    /** The real authorizer's answer to the ServiceAccount itself (SelfSubjectAccessReview with its token). */
    async function allowed(ns: string, sa: string, c: Check): Promise<boolean> {
        const r = await cp.request("POST", "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews", {
            apiVersion: "authorization.k8s.io/v1",
            kind: "SelfSubjectAccessReview",
            spec: { resourceAttributes: { namespace: c.namespace ?? ns, verb: c.verb, resource: c.resource, subresource: c.subresource, name: c.name, group: c.group ?? "" } },
        }, { token: await token(ns, sa) });
        assert.strictEqual(r.status, 201, JSON.stringify(r.body));
        return r.body.status.allowed === true;
    }

    async function expectRights(ns: string, sa: string, yes: Check[], no: Check[]): Promise<void> {
        const wrong: string[] = [];
        for (const c of yes) if (!(await allowed(ns, sa, c))) wrong.push(`refused, needed: ${show(c)}`);
        for (const c of no) if (await allowed(ns, sa, c)) wrong.push(`allowed, must not be: ${show(c)}`);
        assert.deepStrictEqual(wrong, [], `${ns}/${sa}`);
    }

    const find = (id: string, kind: string, name?: string) => objects.get(id)!.find((m) => m.kind === kind && (name === undefined || m.metadata.name === name))!;
    const podsOf = (id: string) => {
        const sts = find(id, "StatefulSet");
        return Array.from({ length: sts.spec.replicas }, (_, i) => `${sts.metadata.name}-${i}`);
    };

    /** What no ServiceAccount of the component may do. */
    function forbiddenToAll(id: string): Check[] {
        const pods = podsOf(id);
        return [
            { verb: "get", resource: "secrets", name: "db-credentials" },
            { verb: "list", resource: "secrets" },
            { verb: "create", resource: "pods" },
            { verb: "delete", resource: "pods", name: pods[0] },
            { verb: "update", resource: "pods", name: pods[0] },
            { verb: "patch", resource: "pods", subresource: "status", name: pods[0] },
            { verb: "create", resource: "pods", subresource: "eviction", name: pods[0] },
            { verb: "patch", resource: "statefulsets", group: "apps", name: "db" },
            { verb: "delete", resource: "persistentvolumeclaims", name: `data-${pods[0]}` },
            { verb: "create", resource: "roles", group: "rbac.authorization.k8s.io" },
            { verb: "create", resource: "rolebindings", group: "rbac.authorization.k8s.io" },
            { verb: "create", resource: "serviceaccounts", subresource: "token", name: "db" },
            { verb: "get", resource: "nodes" },
            { verb: "list", resource: "namespaces" },
            // Nothing at all in another namespace.
            { verb: "get", resource: "pods", name: pods[0], namespace: OTHER_NS },
            { verb: "patch", resource: "pods", name: pods[0], namespace: OTHER_NS },
            { verb: "list", resource: "pods", namespace: OTHER_NS },
            { verb: "create", resource: "pods", subresource: "exec", name: pods[0], namespace: OTHER_NS },
            { verb: "list", resource: "configmaps", namespace: OTHER_NS },
        ];
    }

    it("manual mode: the role labeler gets and patches this cluster's pods by name, nothing else", async function () {
        this.timeout(120000);
        const ns = namespaceOf(VARIANTS.find((v) => v.id === "default")!);
        const sts = find("default", "StatefulSet");
        const sa = sts.spec.template.spec.serviceAccountName;
        assert.strictEqual(sa, "db");
        const pods = podsOf("default");
        await expectRights(ns, sa,
            pods.flatMap((name) => [{ verb: "get", resource: "pods", name }, { verb: "patch", resource: "pods", name }]),
            [
                ...forbiddenToAll("default"),
                { verb: "get", resource: "pods", name: `db-${pods.length}` },
                { verb: "patch", resource: "pods", name: "other-0" },
                { verb: "list", resource: "pods" },
                { verb: "watch", resource: "pods" },
                { verb: "create", resource: "pods", subresource: "exec", name: pods[0] },
                { verb: "get", resource: "configmaps", name: "db-settings" },
                { verb: "create", resource: "configmaps" },
                { verb: "get", resource: "endpoints", name: "db-rw" },
            ]);
    });

    it("Patroni: its four ConfigMaps and the pods' labels; not the component's own ConfigMaps", async function () {
        this.timeout(120000);
        const ns = namespaceOf(VARIANTS.find((v) => v.id === "patroni")!);
        const sa = find("patroni", "StatefulSet").spec.template.spec.serviceAccountName;
        const pods = podsOf("patroni");
        await expectRights(ns, sa,
            [
                { verb: "create", resource: "configmaps" },
                { verb: "list", resource: "configmaps" },
                { verb: "watch", resource: "configmaps" },
                ...["leader", "config", "failover", "sync"].flatMap((s) => [
                    { verb: "get", resource: "configmaps", name: `db-${s}` },
                    { verb: "patch", resource: "configmaps", name: `db-${s}` },
                ]),
                { verb: "get", resource: "pods", name: pods[0] },
                { verb: "list", resource: "pods" },
                { verb: "watch", resource: "pods" },
                ...pods.map((name) => ({ verb: "patch", resource: "pods", name })),
            ],
            [
                ...forbiddenToAll("patroni"),
                { verb: "patch", resource: "configmaps", name: "db-settings" },
                { verb: "patch", resource: "configmaps", name: "db-scripts" },
                { verb: "update", resource: "configmaps", name: "db-leader" },
                { verb: "delete", resource: "configmaps", name: "db-leader" },
                { verb: "patch", resource: "pods", name: `db-${pods.length}` },
                { verb: "create", resource: "pods", subresource: "exec", name: pods[0] },
                { verb: "create", resource: "endpoints" },
                { verb: "patch", resource: "endpoints", name: "db-rw" },
                { verb: "patch", resource: "services", name: "db-rw" },
            ]);
    });

    for (const id of ["backup-s3", "backup-s3-patroni"]) {
        it(`${id}: the backup Job runs with no rights: no token, and its ServiceAccount may not read or exec into pods`, async function () {
            this.timeout(120000);
            const ns = namespaceOf(VARIANTS.find((v) => v.id === id)!);
            const cron = objects.get(id)!.filter((m) => m.kind === "CronJob");
            assert.ok(cron.length > 0);
            for (const c of cron) {
                const spec = c.spec.jobTemplate.spec.template.spec;
                assert.strictEqual(spec.serviceAccountName, undefined, "no ServiceAccount of its own");
                assert.strictEqual(spec.automountServiceAccountToken, false);
            }
            // No Role names a backup identity; the namespace's default account, which the Job's pod runs as, has no right.
            assert.deepStrictEqual(objects.get(id)!.filter((m) => /Role/.test(m.kind) && /backup/.test(m.metadata.name)).map((m) => m.metadata.name), []);
            const pods = podsOf(id);
            await expectRights(ns, "default", [], [
                ...forbiddenToAll(id),
                { verb: "list", resource: "pods" },
                { verb: "get", resource: "pods", name: pods[0] },
                ...pods.map((name) => ({ verb: "create", resource: "pods", subresource: "exec", name })),
                { verb: "patch", resource: "pods", name: pods[0] },
                { verb: "get", resource: "configmaps", name: "db-settings" },
                { verb: "create", resource: "jobs", group: "batch" },
            ]);
        });
    }

    it("the pooler runs with no rights: its ServiceAccount may not read pods, Secrets or ConfigMaps", async function () {
        this.timeout(120000);
        const ns = namespaceOf(VARIANTS.find((v) => v.id === "tls-off-pooler")!);
        const deployments = objects.get("tls-off-pooler")!.filter((m) => m.kind === "Deployment");
        assert.ok(deployments.length > 0);
        for (const d of deployments) {
            const spec = d.spec.template.spec;
            const sa = spec.serviceAccountName ?? "default";
            assert.strictEqual(spec.automountServiceAccountToken, false);
            await expectRights(ns, sa, [], [
                ...forbiddenToAll("tls-off-pooler"),
                { verb: "get", resource: "pods", name: "db-0" },
                { verb: "list", resource: "pods" },
                { verb: "patch", resource: "pods", name: "db-0" },
                { verb: "list", resource: "configmaps" },
                { verb: "get", resource: "configmaps", name: "db-pooler" },
            ]);
        }
    });

    it("the admission policy: the pods' account changes labels and annotations of pods, never their spec (RBAC alone would allow it)", async function () {
        this.timeout(120000);
        /** The account's patch of db-0, strategic-merge as kubectl sends it: its HTTP status and message. */
        const patch = async (id: string, body: unknown) => {
            const ns = namespaceOf(VARIANTS.find((v) => v.id === id)!);
            await eventually(`${ns}: db-0 created`, async () => ((await cp.request("GET", `/api/v1/namespaces/${ns}/pods/db-0`)).status === 200 ? true : undefined));
            const r = await cp.request("PATCH", `/api/v1/namespaces/${ns}/pods/db-0`, body, {
                token: await token(ns, "db"),
                contentType: "application/strategic-merge-patch+json",
            });
            return { status: r.status, message: String(r.body?.message ?? "") };
        };
        const label = { metadata: { labels: { "replicated-db.io/role": "replica" }, annotations: { status: "{}" } } };
        // A new image each time: a patch that changes nothing is no change to refuse.
        let n = 0;
        const image = () => ({ spec: { containers: [{ name: "postgres", image: `registry.example.com/not-the-database:${++n}` }] } });
        for (const id of ["default", "patroni"]) {
            // A new policy takes a moment to be enforced: until then the image patch would pass, so wait for the refusal.
            const refused = await eventually(`${id}: the policy refuses an image change`, async () => {
                const r = await patch(id, image());
                if (r.status !== 200 && r.status !== 403) throw new Error(`${r.status} ${r.message}`);
                return r.status === 403 ? r : undefined;
            });
            assert.match(refused.message, /replicated-db\..*\.db\.pod-updates.*may change only labels and annotations, not the spec/);
            assert.strictEqual((await patch(id, label)).status, 200, `${id}: labels and annotations`);
        }
        // Without the policy, RBAC's patch on pods lets the same account swap the image: what the policy is for.
        assert.strictEqual((await patch("pod-update-policy-off", label)).status, 200);
        assert.strictEqual((await patch("pod-update-policy-off", image())).status, 200);
    });

    it("the real kubectl agrees: auth can-i --as the ServiceAccount, and the labeler's own token reads its pod but not a Secret", async function () {
        this.timeout(120000);
        const ns = namespaceOf(VARIANTS.find((v) => v.id === "default")!);
        const canI = async (args: string[], options: { kubeconfig?: string } = {}) => (await cp.kubectlCode(["auth", "can-i", ...args, "-n", ns], options)).code;
        const as = `--as=system:serviceaccount:${ns}:db`;
        assert.strictEqual(await canI(["patch", "pods/db-0", as]), 0);
        assert.strictEqual(await canI(["get", "pods/db-1", as]), 0);
        assert.strictEqual(await canI(["list", "pods", as]), 1);
        assert.strictEqual(await canI(["get", "secrets/db-credentials", as]), 1);
        assert.strictEqual(await canI(["create", "pods/exec", as]), 1);
        const kubeconfig = await cp.serviceAccountKubeconfig(ns, "db");
        assert.strictEqual(await canI(["patch", "pods/db-0"], { kubeconfig }), 0);
        assert.strictEqual(await canI(["delete", "pods/db-0"], { kubeconfig }), 1);
        // A real read with the token: the pod the StatefulSet controller created (Pending: no node).
        const pod = await eventually("db-0 created", async () => {
            const r = await cp.kubectlCode(["get", "pod", "db-0", "-n", ns, "-o", "jsonpath={.metadata.name}"], { kubeconfig });
            return r.code === 0 ? r.stdout : undefined;
        });
        assert.strictEqual(pod, "db-0");
        const secret = await cp.kubectlCode(["get", "secret", "db-credentials", "-n", ns], { kubeconfig });
        assert.strictEqual(secret.code, 1);
        assert.match(secret.stderr, /forbidden: User "system:serviceaccount:cp-default:db" cannot get resource "secrets"/);
    });
});

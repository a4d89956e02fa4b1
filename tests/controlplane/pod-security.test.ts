/**
 * Pod Security admission for real (the API server's PodSecurity plugin, README "Placement and Pod Security"):
 * the real StatefulSet controller creates the pods, and admission takes or refuses them by the namespace's
 * enforce label. Both ways: the dev stack (hostPath static volumes) is admitted at baseline and refused at
 * restricted; the prod stack, Patroni and local static volumes are admitted at restricted. And the unit tests'
 * home-made evaluator (tests/unit/podSecurity.ts) against the real one, pod template by pod template.
 */
import * as assert from "assert";
import { ControlPlane } from "../harness/controlplane";
import { Manifest } from "../../render/manifests";
import { baselineViolations, restrictedViolations } from "../unit/podSecurity";
import { Level, VARIANTS, renderAll } from "../variants";
import { applyAndReadBack, createNamespace, eventually, events, podNames } from "./support";

const byId = (id: string) => VARIANTS.find((v) => v.id === id)!;

describe("control plane: Pod Security admission", function () {
    let cp: ControlPlane;
    let rendered: Map<string, Manifest[]>;

    before(async function () {
        this.timeout(600000);
        rendered = await renderAll(VARIANTS);
        cp = await ControlPlane.start();
        console.log(`      control plane up in ${(cp.times.totalMs / 1000).toFixed(1)} s`);
    });

    after(async function () {
        this.timeout(60000);
        await cp?.stop();
    });

    /** Applies variant `id` (CRD kinds left out: this file installs none) into `ns` enforcing `level`. */
    async function applyAt(id: string, ns: string, level: Level): Promise<Manifest> {
        await createNamespace(cp, ns, level);
        const manifests = byId(id).render(ns).then((r) => r.manifests);
        const objects = (await manifests).filter((m) => !m.apiVersion.includes("coreos.com") && !m.apiVersion.startsWith("cert-manager.io"));
        await applyAndReadBack(cp, objects);
        return objects.find((m) => m.kind === "StatefulSet")!;
    }

    /** Waits for the StatefulSet's pods to exist, failing at once on a FailedCreate. */
    async function podsCreated(ns: string, sts: Manifest): Promise<string[]> {
        const want = Array.from({ length: sts.spec.replicas }, (_, i) => `${sts.metadata.name}-${i}`);
        return eventually(`${ns}: pods ${want.join(", ")}`, async () => {
            const failed = await events(cp, ns, "FailedCreate");
            if (failed.length) throw new Error(failed.join("\n"));
            const names = await podNames(cp, ns);
            return JSON.stringify(names) === JSON.stringify(want) ? names : undefined;
        }, 60000);
    }

    for (const [id, level] of [["stack-prod", "restricted"], ["patroni", "restricted"], ["static-local", "restricted"], ["stack-dev", "baseline"]] as const) {
        it(`${id}: its pods are created in a namespace enforcing ${level}`, async function () {
            this.timeout(120000);
            const ns = `psa-${id}-${level}`;
            const sts = await applyAt(id, ns, level);
            const pods = await podsCreated(ns, sts);
            assert.strictEqual(pods.length, sts.spec.replicas);
            assert.deepStrictEqual(await events(cp, ns, "FailedCreate"), []);
            // Admitted, never run: there is no node.
            const pod = (await cp.request("GET", `/api/v1/namespaces/${ns}/pods/${pods[0]}`)).body;
            assert.strictEqual(pod.status.phase, "Pending");
        });
    }

    it("stack-dev: under restricted every pod is refused, the event naming the volume-owner's violations", async function () {
        this.timeout(120000);
        const ns = "psa-stack-dev-restricted";
        const sts = await applyAt("stack-dev", ns, "restricted");
        const failed = await eventually(`${ns}: FailedCreate`, async () => {
            const f = await events(cp, ns, "FailedCreate");
            return f.length > 0 ? f : undefined;
        }, 60000);
        assert.deepStrictEqual(await podNames(cp, ns), [], "no pod admitted");
        const message = failed[0];
        assert.match(message, new RegExp(`^StatefulSet/${sts.metadata.name}: .*forbidden: violates PodSecurity "restricted:latest"`));
        // The three violations the home-made evaluator lists for this spec (tests/unit/pod-security.test.ts),
        // in the real admission's words, and no other container named.
        assert.match(message, /runAsNonRoot != true \((pod or )?container "volume-owner" must/);
        assert.match(message, /runAsUser=0 \(container "volume-owner" must not set runAsUser=0\)/);
        assert.match(message, /unrestricted capabilities \([^)]*container "volume-owner" must not include "CHOWN" in securityContext\.capabilities\.add\)/);
        const containers = [...message.matchAll(/containers? "([^"]+)"/g)].map((m) => m[1]);
        assert.deepStrictEqual([...new Set(containers)], ["volume-owner"]);
    });

    it("the home-made evaluator agrees with the real admission on every variant's pod template, at both levels", async function () {
        this.timeout(300000);
        const disagreements: string[] = [];
        for (const level of ["restricted", "baseline"] as const) {
            const ns = `psa-dry-run-${level}`;
            await createNamespace(cp, ns, level);
            for (const v of VARIANTS) {
                for (const w of rendered.get(v.id)!.filter((m) => m.kind === "StatefulSet" || m.kind === "Deployment")) {
                    const spec = structuredClone(w.spec.template.spec);
                    // As the StatefulSet controller does: each claim template becomes a claim volume.
                    for (const t of w.spec.volumeClaimTemplates ?? []) {
                        spec.volumes = [...(spec.volumes ?? []), { name: t.metadata.name, persistentVolumeClaim: { claimName: `${t.metadata.name}-probe` } }];
                    }
                    // The ServiceAccount admission plugin wants the pod's ServiceAccount to exist.
                    if (spec.serviceAccountName) {
                        const sa = await cp.request("POST", `/api/v1/namespaces/${ns}/serviceaccounts`, { apiVersion: "v1", kind: "ServiceAccount", metadata: { name: spec.serviceAccountName } });
                        assert.ok(sa.status === 201 || sa.status === 409, JSON.stringify(sa.body));
                    }
                    const pod = { apiVersion: "v1", kind: "Pod", metadata: { name: "probe", namespace: ns }, spec };
                    // dryRun: admitted or refused as a real create, nothing stored.
                    const r = await cp.request("POST", `/api/v1/namespaces/${ns}/pods?dryRun=All`, pod);
                    assert.ok(r.status === 201 || (r.status === 403 && /violates PodSecurity/.test(r.body.message)),
                        `${v.id} ${w.kind}: unexpected ${r.status} ${JSON.stringify(r.body.message ?? r.body)}`);
                    const homeMade = (level === "restricted" ? restrictedViolations : baselineViolations)(w.spec.template.spec);
                    const realAdmits = r.status === 201;
                    if (realAdmits !== (homeMade.length === 0)) {
                        disagreements.push(`${v.id} ${w.kind}/${w.metadata.name} at ${level}: real ${realAdmits ? "admits" : `refuses (${r.body.message})`}, home-made ${JSON.stringify(homeMade)}`);
                    }
                    // The README's level for the variant admits it.
                    if (level === v.level) assert.ok(realAdmits, `${v.id} ${w.kind}: refused at its README level ${level}: ${r.body.message}`);
                }
            }
        }
        assert.deepStrictEqual(disagreements, []);
    });
});

/**
 * Every stack variant applied to a real API server (tests/harness/controlplane.ts) with the real kubectl
 * (`apply --server-side`), the upstream CRDs installed first: nothing refused by schema validation or
 * admission, every field sent stored with the same meaning, the pods created by the real controllers and
 * admitted by Pod Security at the level the README gives each stack, the static PVs bound to the claims.
 */
import * as assert from "assert";
import { ControlPlane } from "../harness/controlplane";
import { Manifest } from "../../render/manifests";
import { Difference, NORMALISATIONS, Normalisation, applyAndReadBack, createNamespace, eventually, events, installCrds, objectNotStored, podNames } from "./support";
import { VARIANTS, namespaceOf, renderAll } from "../variants";

describe("control plane: every variant applied for real", function () {
    let cp: ControlPlane;
    let rendered: Map<string, Manifest[]>;
    const stored = new Map<string, Manifest[]>();
    const used = new Set<Normalisation>();

    before(async function () {
        this.timeout(600000);
        rendered = await renderAll(VARIANTS);
        cp = await ControlPlane.start();
        console.log(`      control plane up in ${(cp.times.totalMs / 1000).toFixed(1)} s (${JSON.stringify(cp.times)})`);
        const crds = await installCrds(cp);
        console.log(`      CRDs: ${crds.join(", ")}`);
        for (const v of VARIANTS) await createNamespace(cp, namespaceOf(v), v.level);
    });

    after(async function () {
        this.timeout(60000);
        if (used.size) console.log(`      server normalisations met: ${[...used].map((u) => NORMALISATIONS[u]).join("; ")}`);
        await cp?.stop();
    });

    for (const v of VARIANTS) {
        it(`${v.id}: every object accepted and stored as sent`, async function () {
            this.timeout(120000);
            const manifests = rendered.get(v.id)!;
            assert.ok(manifests.length > 0);
            const back = await applyAndReadBack(cp, manifests);
            assert.strictEqual(back.length, manifests.length);
            const diffs: Array<Difference & { object: string }> = [];
            manifests.forEach((m, i) => {
                const s = back[i];
                assert.strictEqual(`${s.kind}/${s.metadata.name}`, `${m.kind}/${m.metadata.name}`);
                for (const d of objectNotStored(m, s, used)) diffs.push({ object: `${m.kind}/${m.metadata.name}`, ...d });
            });
            assert.deepStrictEqual(diffs, [], `fields sent but not stored as sent:\n${JSON.stringify(diffs, null, 2)}`);
            stored.set(v.id, back);
        });
    }

    it("NetworkPolicies: accepted wherever the component renders them, none with networkPolicy off", function () {
        const policies = (id: string) => (stored.get(id) ?? []).filter((m) => m.kind === "NetworkPolicy");
        assert.strictEqual(stored.size, VARIANTS.length, "every variant applied first");
        for (const v of VARIANTS) {
            if (v.id === "network-policy-off") assert.deepStrictEqual(policies(v.id), []);
            else assert.ok(policies(v.id).length > 0, `${v.id}: no NetworkPolicy stored`);
        }
        // The backup Jobs' egress policy is there with backups on.
        assert.ok(policies("backup-s3").some((p) => p.metadata.name === "db-backup"));
    });

    it("the real controllers create every pod, admitted at the README's Pod Security level (no FailedCreate)", async function () {
        this.timeout(180000);
        for (const v of VARIANTS) {
            const ns = namespaceOf(v);
            const workloads = (stored.get(v.id) ?? []).filter((m) => m.kind === "StatefulSet" || m.kind === "Deployment");
            // The StatefulSet's pods by name; a Deployment's (the pooler's) by count under its name.
            const expected = workloads.flatMap((w) =>
                w.kind === "StatefulSet"
                    ? Array.from({ length: w.spec.replicas }, (_, i) => `${w.metadata.name}-${i}`)
                    : Array.from({ length: w.spec.replicas ?? 1 }, () => `${w.metadata.name}-*`));
            const matches = (names: string[]) => names.length === expected.length && workloads.every((w) =>
                w.kind === "StatefulSet"
                    ? expected.filter((e) => e.startsWith(`${w.metadata.name}-`) && !e.endsWith("*")).every((e) => names.includes(e))
                    : names.filter((n) => n.startsWith(`${w.metadata.name}-`)).length === (w.spec.replicas ?? 1));
            const names = await eventually(`${ns}: pods ${expected.join(", ")}`, async () => {
                const failed = await events(cp, ns, "FailedCreate");
                if (failed.length) throw new Error(`FailedCreate in ${ns}:\n${failed.join("\n")}`);
                const n = await podNames(cp, ns);
                return matches(n) ? n : undefined;
            }, 60000).catch(async (err) => {
                // The refusal itself, rather than a timeout, when admission refused a pod.
                const failed = await events(cp, ns, "FailedCreate");
                throw failed.length ? new Error(`${v.id} at ${v.level}: ${failed.join("\n")}`) : err;
            });
            assert.strictEqual(names.length, expected.length);
            assert.deepStrictEqual(await events(cp, ns, "FailedCreate"), []);
        }
    });

    it("replicas 0 and 4: the StatefulSet holds 1 and 5 pods", async () => {
        assert.deepStrictEqual(await podNames(cp, "cp-replicas-0"), ["db-0"]);
        assert.deepStrictEqual(await podNames(cp, "cp-replicas-4"), ["db-0", "db-1", "db-2", "db-3", "db-4"]);
    });

    for (const id of ["stack-dev", "static-hostpath", "static-hostpath-4", "static-local", "static-local-2-nodes"]) {
        it(`${id}: the PV controller binds each static PV to its StatefulSet's claim`, async function () {
            this.timeout(120000);
            const ns = `cp-${id}`;
            const objects = stored.get(id)!;
            const pvs = objects.filter((m) => m.kind === "PersistentVolume");
            const sts = objects.find((m) => m.kind === "StatefulSet")!;
            assert.strictEqual(pvs.length, sts.spec.replicas);
            const template = sts.spec.volumeClaimTemplates[0].metadata.name;
            for (let i = 0; i < sts.spec.replicas; i++) {
                const claim = `${template}-${sts.metadata.name}-${i}`;
                const pvc = await eventually(`${ns}/${claim} Bound`, async () => {
                    const r = await cp.request("GET", `/api/v1/namespaces/${ns}/persistentvolumeclaims/${claim}`);
                    return r.status === 200 && r.body.status?.phase === "Bound" ? r.body : undefined;
                }, 60000);
                const pv = (await cp.request("GET", `/api/v1/persistentvolumes/${pvc.spec.volumeName}`)).body;
                assert.strictEqual(pv.status.phase, "Bound");
                assert.strictEqual(pv.spec.claimRef.uid, pvc.metadata.uid, `${pv.metadata.name} bound to ${claim}`);
                assert.ok(pvs.some((p) => p.metadata.name === pv.metadata.name), `${claim} bound to a PV of this variant`);
                // The pod the StatefulSet controller made mounts that very claim.
                const pod = (await cp.request("GET", `/api/v1/namespaces/${ns}/pods/${sts.metadata.name}-${i}`)).body;
                const vol = pod.spec.volumes.find((x: any) => x.name === template);
                assert.strictEqual(vol?.persistentVolumeClaim?.claimName, claim);
                assert.strictEqual(pod.status.phase, "Pending", "no node: the pod is never run");
            }
        });
    }
});

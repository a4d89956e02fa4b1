/**
 * Every rendered manifest validates against the Kubernetes OpenAPI schemas shipped by kubernetes-models
 * (types, required fields, enums, formats). This is the API server's schema check, not its admission
 * logic: immutability rules and cross-object checks need a real cluster.
 */
import * as assert from "assert";
import { Manifest } from "../../render/manifests";
import { renderComponent } from "./helpers";
import { STACK_VARIANTS } from "./variants";

// kubernetes-models is ESM only; a real dynamic import (ts-node would turn `import()` into `require`).
const importEsm = new Function("specifier", "return import(specifier)") as (s: string) => Promise<any>;

const CRD_GROUPS = ["cert-manager.io", "monitoring.coreos.com"];

async function validate(m: Manifest): Promise<void> {
    const mod = await importEsm(`kubernetes-models/${m.apiVersion}`);
    const Model = mod[m.kind];
    assert.ok(Model, `kubernetes-models has no ${m.apiVersion} ${m.kind}`);
    try {
        new Model(m).validate();
    } catch (err) {
        assert.fail(`${m.kind} ${m.metadata.name} is invalid: ${(err as Error).message}`);
    }
}

describe("Kubernetes schema validation", () => {
    for (const { what, render } of STACK_VARIANTS) {
        it(`accepts every object for ${what}`, async () => {
            const r = await render();
            assert.ok(r.manifests.length >= 10);
            // kubernetes-models has no schema of the CRDs' objects (cert-manager's Certificate, the Prometheus
            // operator's): tls.test.ts and monitoring.test.ts check their fields, and the control-plane tests apply
            // them to a real API server with the CRDs installed.
            for (const m of r.manifests.filter((x) => !CRD_GROUPS.some((g) => x.apiVersion.startsWith(`${g}/`)))) {
                await validate(m);
            }
        });
    }

    it("catches an invalid object (the check is not vacuous)", async () => {
        const r = await renderComponent("db");
        const sts = JSON.parse(JSON.stringify(r.manifests.find((m) => m.kind === "StatefulSet")));
        sts.spec.replicas = "three";
        await assert.rejects(validate(sts), /is invalid/);
        const svc = JSON.parse(JSON.stringify(r.manifests.find((m) => m.kind === "Service")));
        svc.spec.ports[0].port = "x";
        await assert.rejects(validate(svc), /is invalid/);
        const np = JSON.parse(JSON.stringify(r.manifests.find((m) => m.kind === "NetworkPolicy")));
        np.spec.ingress[0].ports[0].protocol = 6;
        await assert.rejects(validate(np), /is invalid/);
    });
});

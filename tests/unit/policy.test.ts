/** The policy pack: each rule passes what the component renders and reports a broken copy. */
import * as assert from "assert";
import { ResourceValidationArgs, ResourceValidationPolicy } from "@pulumi/policy";
import { noPlainTextPasswords, replicaInProduction, restrictedPods, volumesRetained } from "../../policy/policies";
import { CapturedResource } from "../../render/capture";
import { Rendered } from "../../render/render";
import { STATIC_ARGS, renderComponent } from "./helpers";

/** Runs one policy over resources and returns the violations it reported. */
function check(policy: ResourceValidationPolicy, resources: CapturedResource[], config: object = {}): string[] {
    const violations: string[] = [];
    for (const r of resources) {
        const args = { type: r.type, props: r.inputs, name: r.name, urn: `urn:${r.name}`, getConfig: () => config } as unknown as ResourceValidationArgs;
        const validations = Array.isArray(policy.validateResource) ? policy.validateResource : [policy.validateResource!];
        for (const v of validations) v(args, (message: string) => violations.push(message));
    }
    return violations;
}

/** A deep copy of one rendered resource of a type, changed by `edit`. */
function broken(r: Rendered, type: string, edit: (inputs: any) => void): CapturedResource[] {
    const found = r.resources.find((x) => x.type === type)!;
    const copy = JSON.parse(JSON.stringify(found));
    edit(copy.inputs);
    return [copy];
}

const STS = "kubernetes:apps/v1:StatefulSet";

describe("the policy pack", () => {
    let dynamic: Rendered;
    let statics: Rendered;
    before(async () => {
        dynamic = await renderComponent("db");
        statics = await renderComponent("db", STATIC_ARGS);
    });

    it("volumes retained: passes the component, reports deleting policies", () => {
        assert.deepStrictEqual(check(volumesRetained, [...dynamic.resources, ...statics.resources]), []);
        assert.match(check(volumesRetained, broken(dynamic, STS, (i) => (i.spec.persistentVolumeClaimRetentionPolicy.whenScaled = "Delete")))[0], /must be Retain/);
        assert.match(check(volumesRetained, broken(statics, "kubernetes:core/v1:PersistentVolume", (i) => (i.spec.persistentVolumeReclaimPolicy = "Delete")))[0], /got Delete/);
        assert.match(check(volumesRetained, broken(statics, "kubernetes:storage.k8s.io/v1:StorageClass", (i) => delete i.reclaimPolicy))[0], /Delete, the default/);
    });

    it("no plain-text passwords: passes the component, reports a literal password env or ConfigMap key", () => {
        assert.deepStrictEqual(check(noPlainTextPasswords, dynamic.resources), []);
        const env = broken(dynamic, STS, (i) => i.spec.template.spec.containers[0].env.push({ name: "POSTGRES_PASSWORD", value: "hunter2" }));
        assert.deepStrictEqual(check(noPlainTextPasswords, env), ["container postgres: env POSTGRES_PASSWORD carries a literal value; take it from a Secret (valueFrom.secretKeyRef)"]);
        const cm = broken(dynamic, "kubernetes:core/v1:ConfigMap", (i) => (i.data["app-password"] = "x"));
        assert.match(check(noPlainTextPasswords, cm)[0], /key app-password looks like a secret/);
    });

    it("restricted pods: passes the component (with its CHOWN-only volume owner), reports a privileged container", () => {
        assert.deepStrictEqual(check(restrictedPods, [...dynamic.resources, ...statics.resources]), []);
        const root = broken(dynamic, STS, (i) => (i.spec.template.spec.containers[1].securityContext.runAsUser = 0));
        assert.deepStrictEqual(check(restrictedPods, root), ["container role-labeler: must not run as root"]);
        const caps = broken(statics, STS, (i) => i.spec.template.spec.initContainers[0].securityContext.capabilities.add.push("SYS_ADMIN"));
        assert.deepStrictEqual(check(restrictedPods, caps), ["container volume-owner: adds capabilities CHOWN, SYS_ADMIN", "container volume-owner: must not run as root"]);
        const escalate = broken(dynamic, STS, (i) => delete i.spec.template.spec.containers[0].securityContext.allowPrivilegeEscalation);
        assert.deepStrictEqual(check(restrictedPods, escalate), ["container postgres: allowPrivilegeEscalation must be false"]);
    });

    it("replica in production: a primary alone is reported only where the pack says production", async () => {
        const alone = (await renderComponent("db", { replicas: 0 })).resources;
        assert.deepStrictEqual(check(replicaInProduction, alone, { production: false }), []);
        assert.match(check(replicaInProduction, alone, { production: true })[0], /runs 1 pod\(s\) in a production stack/);
        assert.deepStrictEqual(check(replicaInProduction, dynamic.resources, { production: true }), []);
    });

    it("leaves objects that are not the component's alone", () => {
        const foreign = broken(dynamic, STS, (i) => {
            i.metadata.labels = { app: "other" };
            i.spec.persistentVolumeClaimRetentionPolicy = { whenDeleted: "Delete", whenScaled: "Delete" };
        });
        assert.deepStrictEqual(check(volumesRetained, foreign), []);
    });
});

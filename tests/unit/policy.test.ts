/** The policy pack: each rule passes what the component renders and reports a broken copy. */
import * as assert from "assert";
import * as pulumi from "@pulumi/pulumi";
import { ResourceValidationArgs, ResourceValidationPolicy, StackValidationArgs, StackValidationPolicy } from "@pulumi/policy";
import {
    backupsInProduction,
    backupsInProductionFor,
    noPlainTextPasswords,
    replicaInProduction,
    restrictedPods,
    volumesRetained,
} from "../../policy/policies";
import { CapturedResource } from "../../render/capture";
import { Rendered, renderProgram } from "../../render/render";
import { readStackConfig } from "../../render/stackConfig";
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

/** What a stack policy said: its violations (with the resource they name), or why it does not apply. */
interface StackVerdict {
    violations: { message: string; urn?: string }[];
    notApplicable?: string;
}

/** Runs one stack policy over the resources of a whole stack, as the pack's server calls it. */
function checkStack(policy: StackValidationPolicy, resources: CapturedResource[], config: object = {}): StackVerdict {
    const verdict: StackVerdict = { violations: [] };
    const notApplicable = new Error("not applicable");
    const args = {
        resources: resources.map((r) => ({ type: r.type, props: r.inputs, name: r.name, urn: `urn:${r.name}` })),
        stackTags: new Map(),
        getConfig: () => config,
        notApplicable: (reason?: string) => {
            verdict.notApplicable = reason;
            throw notApplicable;
        },
    } as unknown as StackValidationArgs;
    try {
        policy.validateStack(args, (message: string, urn?: string) => verdict.violations.push({ message, urn }));
    } catch (e) {
        if (e !== notApplicable) throw e;
    }
    return verdict;
}

/**
 * The full-backup CronJob of a rendered cluster as the backup contract labels it (the component's rendering
 * of it is tested with the backup args): in the StatefulSet's namespace, with its labels, component
 * `backup-full` (or `component`).
 */
function backupJob(r: Rendered, component = "backup-full", edit: (inputs: any) => void = () => undefined): CapturedResource {
    const sts = r.resources.find((x) => x.type === STS)!.inputs;
    const inputs = {
        metadata: { name: `${sts.metadata.name}-${component}`, namespace: sts.metadata.namespace, labels: { ...sts.metadata.labels, "app.kubernetes.io/component": component } },
        spec: { schedule: "0 1 * * 0", jobTemplate: { spec: {} } },
    };
    edit(inputs);
    return { type: "kubernetes:batch/v1:CronJob", name: `${sts.metadata.name}-${component}`, inputs, secretPaths: [], read: false, custom: true } as unknown as CapturedResource;
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

    it("backups in production: a production stack's cluster without its full-backup CronJob is reported with the fix", () => {
        const prod = backupsInProductionFor(() => "prod");
        const missing = checkStack(prod, dynamic.resources);
        assert.deepStrictEqual(missing.violations, [
            {
                message: "ReplicatedDatabase db (StatefulSet default/db) in production stack prod has no full-backup CronJob: set backup.enabled: true (with a repository) on this cluster",
                urn: "urn:db-statefulset",
            },
        ]);
        assert.deepStrictEqual(checkStack(prod, [...dynamic.resources, backupJob(dynamic)]), { violations: [] });

        // Only the same cluster's own, active full backup counts.
        for (const other of [
            backupJob(dynamic, "backup-diff"),
            backupJob(dynamic, "backup-full", (i) => (i.metadata.labels["app.kubernetes.io/instance"] = "other")),
            backupJob(dynamic, "backup-full", (i) => (i.metadata.namespace = "elsewhere")),
            backupJob(dynamic, "backup-full", (i) => (i.metadata.labels = { "app.kubernetes.io/instance": "db", "app.kubernetes.io/component": "backup-full" })),
        ]) {
            assert.match(checkStack(prod, [...dynamic.resources, other]).violations[0]?.message ?? "", /has no full-backup CronJob/, JSON.stringify(other.inputs.metadata));
        }
        const suspended = backupJob(dynamic, "backup-full", (i) => (i.spec.suspend = true));
        assert.match(checkStack(prod, [...dynamic.resources, suspended]).violations[0].message, /CronJob db-backup-full is suspended/);
    });

    it("backups in production: the prod stack as rendered passes (its own CronJob counts), the dev stack would not", async () => {
        const prod = backupsInProductionFor(() => "prod");
        assert.deepStrictEqual(checkStack(prod, (await renderProgram(readStackConfig("prod"))).resources), { violations: [] });
        assert.match(checkStack(prod, (await renderProgram(readStackConfig("dev"))).resources).violations[0].message, /has no full-backup CronJob/);
    });

    it("backups in production: each cluster of the stack on its own, and no cluster, no violation", async () => {
        const second = await renderComponent("orders", { namespace: "shop" });
        const prod = backupsInProductionFor(() => "production");
        const both = [...dynamic.resources, ...second.resources, backupJob(dynamic)];
        assert.deepStrictEqual(checkStack(prod, both).violations.map((v) => v.urn), ["urn:orders-statefulset"]);
        assert.match(checkStack(prod, both).violations[0].message, /^ReplicatedDatabase orders \(StatefulSet shop\/orders\) in production stack production /);
        assert.deepStrictEqual(checkStack(prod, dynamic.resources.filter((r) => r.type !== STS)), { violations: [] });
    });

    it("backups in production: which stacks are production comes from the stack name and the productionStacks config", () => {
        const verdict = (stack: string, config: object = {}) => checkStack(backupsInProductionFor(() => stack), dynamic.resources, config);
        for (const stack of ["prod", "production", "eu-prod", "Prod", "prod.us", "shop_production"]) {
            assert.strictEqual(verdict(stack).violations.length, 1, stack);
        }
        for (const stack of ["dev", "staging", "product-demo", "preprod"]) {
            assert.deepStrictEqual(verdict(stack), { violations: [], notApplicable: `stack ${stack} does not match productionStacks (^|[-_.])(prod|production)($|[-_.])` }, stack);
        }
        assert.strictEqual(verdict("live", { productionStacks: "^live$" }).violations.length, 1);
        assert.strictEqual(verdict("prod", { productionStacks: "^live$" }).notApplicable, "stack prod does not match productionStacks ^live$");
        assert.deepStrictEqual(verdict("prod", { productionStacks: "(prod" }).violations, [
            {
                message:
                    'policy config productionStacks: "(prod" is not a regular expression (Invalid regular expression: /(prod/i: Unterminated group); allowed: a JavaScript regular expression such as "(^|[-_.])(prod|production)($|[-_.])"',
                urn: undefined,
            },
        ]);
    });

    it("backups in production: the pack's rule reads the stack's name from the Pulumi runtime", async () => {
        const mocks = { newResource: (a: pulumi.runtime.MockResourceArgs) => ({ id: a.name, state: a.inputs }), call: (a: pulumi.runtime.MockCallArgs) => a.inputs };
        await pulumi.runtime.setMocks(mocks, "replicated-db", "production", false);
        assert.match(checkStack(backupsInProduction, dynamic.resources).violations[0].message, /in production stack production has no full-backup CronJob/);
        await pulumi.runtime.setMocks(mocks, "replicated-db", "dev", false);
        assert.strictEqual(checkStack(backupsInProduction, dynamic.resources).notApplicable, "stack dev does not match productionStacks (^|[-_.])(prod|production)($|[-_.])");
    });

    it("leaves objects that are not the component's alone", () => {
        const foreign = broken(dynamic, STS, (i) => {
            i.metadata.labels = { app: "other" };
            i.spec.persistentVolumeClaimRetentionPolicy = { whenDeleted: "Delete", whenScaled: "Delete" };
        });
        assert.deepStrictEqual(check(volumesRetained, foreign), []);
        assert.deepStrictEqual(checkStack(backupsInProductionFor(() => "prod"), foreign), { violations: [] });
    });
});

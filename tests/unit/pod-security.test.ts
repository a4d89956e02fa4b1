/**
 * Which Pod Security level each stack's pods need (docs/security.md, "Placement and Pod Security"): the rendered pod templates against
 * the baseline and restricted controls of ./podSecurity.ts.
 */
import * as assert from "assert";
import { renderProgram } from "../../render/render";
import { readStackConfig } from "../../render/stackConfig";
import { baselineViolations, restrictedViolations } from "./podSecurity";
import { find, renderComponent } from "./helpers";
import { STACK_VARIANTS } from "./variants";
import { resolveArgs } from "../../components/resolve";

const podSpecOf = (r: Awaited<ReturnType<typeof renderComponent>>) => find(r, "StatefulSet").spec.template.spec;

describe("Pod Security levels", () => {
    it("the prod stack (a provisioner's volumes) is admitted at restricted", async () => {
        assert.deepStrictEqual(restrictedViolations(podSpecOf(await renderProgram(readStackConfig("prod")))), []);
    });

    it("Patroni, and local static volumes, are admitted at restricted", async () => {
        const patroni = await renderComponent("db", { failover: "patroni", image: "registry.example.com/pg:17.6" });
        assert.deepStrictEqual(restrictedViolations(podSpecOf(patroni)), []);
        const local = await renderComponent("db", { createStorageClass: true, staticVolumes: { type: "local", nodeNames: ["node-a"] } });
        assert.deepStrictEqual(restrictedViolations(podSpecOf(local)), []);
    });

    it("the dev stack (hostPath volumes) needs baseline: only its volume-owner breaks restricted", async () => {
        const spec = podSpecOf(await renderProgram(readStackConfig("dev")));
        assert.deepStrictEqual(baselineViolations(spec), []);
        assert.deepStrictEqual(restrictedViolations(spec), [
            "container volume-owner: runAsNonRoot not true",
            "container volume-owner: runAsUser 0",
            "container volume-owner: adds CHOWN (only NET_BIND_SERVICE)",
        ]);
    });

    it("the checks are not vacuous: they report what each level forbids", async () => {
        const spec = JSON.parse(JSON.stringify(podSpecOf(await renderComponent("db"))));
        spec.containers[0].securityContext.capabilities.add = ["SYS_ADMIN"];
        spec.containers[1].securityContext.privileged = true;
        spec.volumes.push({ name: "host", hostPath: { path: "/" } });
        delete spec.containers[1].securityContext.allowPrivilegeEscalation;
        assert.deepStrictEqual(baselineViolations(spec), ["volume host: hostPath", "container postgres: adds SYS_ADMIN", "container role-labeler: privileged"]);
        assert.ok(restrictedViolations(spec).includes("container role-labeler: allowPrivilegeEscalation not false"));
        assert.ok(restrictedViolations(spec).includes("volume host: type hostPath"));
    });
});

describe("bounded scratch space and bounded Jobs", () => {
    /** Every pod template in a render: the StatefulSet's, the pooler's, the backup CronJobs'. */
    const templates = (r: Awaited<ReturnType<typeof renderComponent>>) =>
        r.manifests.flatMap((m) => {
            if (m.kind === "CronJob") return [{ owner: `CronJob ${m.metadata.name}`, spec: m.spec.jobTemplate.spec.template.spec }];
            if (["StatefulSet", "Deployment", "Job"].includes(m.kind)) return [{ owner: `${m.kind} ${m.metadata.name}`, spec: m.spec.template.spec }];
            return [];
        });

    it("gives every emptyDir of every stack variant a sizeLimit, so that a runaway writer evicts only its own pod", async () => {
        let seen = 0;
        for (const { what, render } of STACK_VARIANTS) {
            for (const { owner, spec } of templates(await render())) {
                for (const v of spec.volumes ?? []) {
                    if (!v.emptyDir) continue;
                    seen++;
                    assert.ok(v.emptyDir.sizeLimit, `${what}: ${owner} volume ${v.name} has no sizeLimit`);
                }
            }
        }
        assert.ok(seen >= STACK_VARIANTS.length * 3, `only ${seen} emptyDirs seen`);
    });

    it("ends a hung backup Job, so that it cannot block the next ones", async () => {
        const r = await renderComponent("db", { image: "registry.example.com/pg:17.6", backup: { enabled: true, repositoryType: "volume", jobDeadlineSeconds: 7200 } });
        const jobs = r.manifests.filter((m) => m.kind === "CronJob");
        assert.strictEqual(jobs.length, 2);
        for (const j of jobs) {
            assert.strictEqual(j.spec.concurrencyPolicy, "Forbid");
            assert.strictEqual(j.spec.jobTemplate.spec.activeDeadlineSeconds, 7200);
        }
        const d = await renderComponent("db", { image: "registry.example.com/pg:17.6", backup: { enabled: true, repositoryType: "volume" } });
        assert.strictEqual(d.manifests.find((m) => m.kind === "CronJob")!.spec.jobTemplate.spec.activeDeadlineSeconds, 43200);
        assert.throws(() => resolveArgs("db", { image: "registry.example.com/pg:17.6", backup: { enabled: true, repositoryType: "volume", jobDeadlineSeconds: 60 } }), /^ArgError: invalid backup.jobDeadlineSeconds: 60 \(allowed: a whole number from 600 to 604800\)$/);
    });
});

/**
 * Which Pod Security level each stack's pods need (docs/security.md, "Placement and Pod Security"): the rendered pod templates against
 * the baseline and restricted controls of ./podSecurity.ts.
 */
import * as assert from "assert";
import { renderProgram } from "../../render/render";
import { readStackConfig } from "../../render/stackConfig";
import { baselineViolations, restrictedViolations } from "./podSecurity";
import { find, renderComponent } from "./helpers";

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

/**
 * The engine set-up itself (tests/pulumi/engine.ts), on the smallest program that needs what the component
 * needs: a Kubernetes object from the provider built from source, in its render-to-directory mode (no
 * cluster), and a Node dynamic resource (the kind the component's change guard is), with no language host.
 */
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { parse } from "yaml";
import { EngineStack, engineStack } from "./engine";

const echo: pulumi.dynamic.ResourceProvider = {
    async create(inputs: any) {
        // Computed in the dynamic-provider host, not in this process: proves that host ran.
        return { id: "echo", outs: { ...inputs, pid: process.pid } };
    },
};

class Echo extends pulumi.dynamic.Resource {
    declare readonly pid: pulumi.Output<number>;
    constructor(name: string) {
        super(echo, name, { value: "x", pid: undefined }, {});
    }
}

describe("the real Pulumi engine (inline program, no language host)", function () {
    this.timeout(300000);
    let env: EngineStack;
    let yamlDir: string;

    before(async () => {
        env = await engineStack("engine-check", "check", async () => {
            const cm = new k8s.core.v1.ConfigMap("cm", { metadata: { name: "probe", namespace: "default" }, data: { a: "1" } });
            const dyn = new Echo("echo");
            return { cmName: cm.metadata.name, hostPid: dyn.pid };
        });
        yamlDir = path.join(env.dir, "yaml");
        await env.stack.setConfig("kubernetes:renderYamlToDirectory", { value: yamlDir });
    });

    after(() => env?.cleanup());

    it("`pulumi up` runs the kubernetes provider (writes the object) and the dynamic-provider host", async () => {
        const up = await env.stack.up();
        assert.strictEqual(up.summary.result, "succeeded");
        assert.strictEqual(up.outputs.cmName.value, "probe");
        const pid = up.outputs.hostPid.value;
        assert.ok(Number.isInteger(pid) && pid !== process.pid, `pid from the dynamic-provider host: ${pid}`);
        const file = path.join(yamlDir, "1-manifest", "v1-configmap-default-probe.yaml");
        assert.deepStrictEqual(parse(fs.readFileSync(file, "utf8")), {
            apiVersion: "v1",
            kind: "ConfigMap",
            metadata: { name: "probe", namespace: "default" },
            data: { a: "1" },
        });
        const destroy = await env.stack.destroy();
        assert.strictEqual(destroy.summary.result, "succeeded");
    });
});

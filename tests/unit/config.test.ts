/** Stack config -> component args: types, key names in errors, and the shipped stack files. */
import * as assert from "assert";
import { argsFromConfig, resolveConfig } from "../../program/config";
import { readStackConfig } from "../../render/stackConfig";

describe("stack config to args", () => {
    it("maps replicated-db:* keys to args with their types and ignores other namespaces", () => {
        const args = argsFromConfig({
            "replicated-db:replicas": "3",
            "replicated-db:storageSize": "20Gi",
            "replicated-db:createStorageClass": "true",
            "replicated-db:staticVolumes": JSON.stringify({ type: "local", nodeNames: ["n1"] }),
            "replicated-db:passwordVersion": "2",
            "replicated-db:failover": "patroni",
            "replicated-db:automatedFailover": "true",
            "kubernetes:context": "kind-kind",
        });
        assert.deepStrictEqual(args, {
            replicas: 3,
            storageSize: "20Gi",
            createStorageClass: true,
            staticVolumes: { type: "local", nodeNames: ["n1"] },
            passwordVersion: 2,
            failover: "patroni",
            automatedFailover: true,
        });
    });
    it("names the config key, the value and what is allowed", () => {
        const cases: [Record<string, string>, string | RegExp][] = [
            [{ "replicated-db:replicas": "-1" }, "invalid replicated-db:replicas: -1 (allowed: a whole number from 0 to 30)"],
            [{ "replicated-db:replicas": "2.5" }, "invalid replicated-db:replicas: 2.5 (allowed: a whole number from 0 to 30)"],
            [{ "replicated-db:replicas": "three" }, 'invalid replicated-db:replicas: "three" (allowed: a whole number from 0 to 30)'],
            [{ "replicated-db:storageSize": "ten" }, /^invalid replicated-db:storageSize: "ten" \(allowed: the volume size per pod: a Kubernetes quantity/],
            [{ "replicated-db:createStorageClass": "yes" }, 'invalid replicated-db:createStorageClass: "yes" (allowed: true or false)'],
            [{ "replicated-db:namespace": "Prod" }, /^invalid replicated-db:namespace: "Prod" \(allowed: a DNS-1123 label/],
            [{ "replicated-db:engine": "mysql" }, 'invalid replicated-db:engine: "mysql" (allowed: one of "postgresql")'],
            [{ "replicated-db:failover": "auto" }, 'invalid replicated-db:failover: "auto" (allowed: one of "manual", "patroni")'],
            [{ "replicated-db:automatedFailover": "yes" }, 'invalid replicated-db:automatedFailover: "yes" (allowed: true or false)'],
            [{ "replicated-db:replica": "3" }, /^invalid replicated-db:replica: "3" \(allowed: one of the known settings/],
            [{ "replicated-db:resources": "{oops" }, /^invalid replicated-db:resources: "\{oops" \(allowed: a map/],
            [
                { "replicated-db:createStorageClass": "true", "replicated-db:storageClassName": "gp3" },
                /^invalid replicated-db:storageClassName: "gp3" \(allowed: empty when replicated-db:createStorageClass is true/,
            ],
            [{ "replicated-db:resources": JSON.stringify({ memoryLimit: "x" }) }, /^invalid replicated-db:resources.memoryLimit: "x"/],
        ];
        for (const [config, message] of cases) {
            assert.throws(
                () => resolveConfig(config),
                (err: Error) => (typeof message === "string" ? err.message === message : message.test(err.message)) || assert.fail(err.message),
            );
        }
    });
    it("accepts the dev stack: its own StorageClass and hostPath volumes", () => {
        const args = resolveConfig(readStackConfig("dev"));
        assert.strictEqual(args.createStorageClass, true);
        assert.strictEqual(args.staticVolumes?.type, "hostPath");
        assert.ok(args.replicas >= 1);
    });
    it("accepts the prod stack: a provisioner's class and more replicas than dev", () => {
        const dev = resolveConfig(readStackConfig("dev"));
        const prod = resolveConfig(readStackConfig("prod"));
        assert.strictEqual(prod.createStorageClass, false);
        assert.strictEqual(prod.staticVolumes, undefined);
        assert.notStrictEqual(prod.storageClassName, "");
        assert.ok(prod.replicas > dev.replicas);
    });
    it("refuses an unknown stack with the stacks it knows", () => {
        assert.throws(() => readStackConfig("staging"), /^Error: invalid --stack: "staging" \(allowed: one of .*dev.*prod/);
        assert.throws(() => readStackConfig("../etc"), /invalid --stack/);
    });
});

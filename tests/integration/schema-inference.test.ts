/**
 * Other Pulumi languages see the component through the schema that Pulumi infers from its TypeScript
 * (what `pulumi package add` does with PulumiPlugin.yaml). This runs that inference offline, with the
 * analyzer shipped in @pulumi/pulumi, so that an arg or output other languages cannot take fails here.
 */
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { parse } from "yaml";
import { Analyzer } from "@pulumi/pulumi/provider/experimental/analyzer";
import { generateSchema } from "@pulumi/pulumi/provider/experimental/schema";
import { KNOWN_ARGS } from "../../components/argTable";
import { OUTPUT_NAMES } from "../../components/outputs";
import { TYPE_TOKEN } from "../../components/replicatedDatabase";

const ROOT = path.join(__dirname, "..", "..");

describe("the inferred package schema", function () {
    this.timeout(60000);
    let schema: any;
    let component: any;
    before(() => {
        const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8"));
        const result = new Analyzer(ROOT, pkg.name, pkg, new Set(["ReplicatedDatabase"])).analyze();
        schema = generateSchema(pkg.name, pkg.version, pkg.description, result.components, result.typeDefinitions, result.dependencies);
        component = schema.resources[TYPE_TOKEN];
    });

    it("declares a nodejs plugin", () => {
        assert.deepStrictEqual(parse(fs.readFileSync(path.join(ROOT, "PulumiPlugin.yaml"), "utf8")), { runtime: "nodejs" });
    });

    it("has the component under its type token, with every arg as an optional, documented input", () => {
        assert.ok(component, `no ${TYPE_TOKEN} in ${Object.keys(schema.resources)}`);
        assert.strictEqual(component.isComponent, true);
        assert.deepStrictEqual(Object.keys(component.inputProperties).sort(), [...KNOWN_ARGS].sort());
        assert.deepStrictEqual(component.requiredInputs ?? [], []);
        for (const [name, p] of Object.entries<any>(component.inputProperties)) {
            assert.ok(p.description && p.description.length > 10, `${name} has no description`);
            assert.ok(p.type || p.$ref, `${name} has no type`);
        }
        assert.strictEqual(component.inputProperties.replicas.type, "number");
        // A plain string, not a TypeScript union, with its allowed values in words; the alias says it is deprecated.
        assert.strictEqual(component.inputProperties.failover.type, "string");
        assert.match(component.inputProperties.failover.description, /"manual"[^]*"patroni"/);
        assert.strictEqual(component.inputProperties.automatedFailover.type, "boolean");
        assert.match(component.inputProperties.automatedFailover.description, /^Deprecated alias of `failover`/);
        assert.deepStrictEqual(component.inputProperties.parameters.additionalProperties.type, "string");
        assert.match(component.inputProperties.staticVolumes.$ref, /StaticVolumesArgs$/);
        const sv = schema.types["replicated-db:index:StaticVolumesArgs"];
        assert.deepStrictEqual(Object.keys(sv.properties).sort(), ["basePath", "nodeNames", "type"]);
        assert.strictEqual(sv.properties.nodeNames.type, "array");
    });

    it("has every output, the connection strings among them", () => {
        const outputs = Object.keys(component.properties).sort();
        assert.deepStrictEqual(outputs, [...OUTPUT_NAMES].sort());
        assert.ok(outputs.includes("writeMultiHostConnectionString") && outputs.includes("jdbcWriteMultiHostUrl"));
        assert.strictEqual(component.properties.podHosts.type, "array");
        assert.strictEqual(component.properties.port.type, "number");
        // Secrecy is not part of an inferred schema: the values are wrapped with pulumi.secret at run time,
        // which the engine keeps across languages (tests/unit/secrets.test.ts checks the wrapping).
    });

    it("accepts the YAML example's properties and outputs", () => {
        const doc = parse(fs.readFileSync(path.join(ROOT, "examples", "yaml-consumer", "Pulumi.yaml"), "utf8"));
        const db = doc.resources.db;
        assert.strictEqual(db.type, TYPE_TOKEN);
        for (const key of Object.keys(db.properties)) {
            assert.ok(key in component.inputProperties, `the YAML example sets unknown input ${key}`);
        }
        for (const expr of Object.values<string>(doc.outputs)) {
            const prop = /^\$\{db\.([A-Za-z]+)\}$/.exec(expr)![1];
            assert.ok(prop in component.properties, `the YAML example reads unknown output ${prop}`);
        }
    });
});

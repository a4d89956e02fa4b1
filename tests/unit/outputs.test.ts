/**
 * The outputs are declared once (components/outputs.ts): the class's fields, what the component publishes
 * and keeps secret and the program's exports must agree with it. The "Stack outputs" table of
 * docs/configuration.md is generated from it (scripts/gen-docs.ts; tests/unit/gen-docs.test.ts).
 */
import * as assert from "assert";
import { OUTPUTS, OUTPUT_NAMES } from "../../components/outputs";
import { renderComponent, renderProgram } from "../../render/render";
import { readStackConfig } from "../../render/stackConfig";
import { classProperties } from "./sources";

const SECRET = OUTPUT_NAMES.filter((n) => OUTPUTS[n].secret);

describe("the outputs list", () => {
    it("is the class's public outputs, each a documented pulumi.Output", () => {
        const fields = classProperties("components/replicatedDatabase.ts", "ReplicatedDatabase").filter((m) => m.modifiers.includes("public"));
        assert.deepStrictEqual(fields.map((f) => f.name).sort(), [...OUTPUT_NAMES].sort());
        for (const f of fields) {
            assert.ok(f.modifiers.includes("readonly"), `${f.name} is not readonly`);
            assert.match(f.typeText, /^pulumi\.Output<.+>$/, `${f.name} is ${f.typeText}`);
        }
    });

    it("is what the component publishes, secret exactly where the list says", async () => {
        const r = await renderComponent("db");
        assert.deepStrictEqual(Object.keys(r.outputs).sort(), [...OUTPUT_NAMES].sort());
        for (const name of OUTPUT_NAMES) {
            assert.strictEqual(r.secretOutputs.includes(name), OUTPUTS[name].secret, `${name} secret`);
            assert.notStrictEqual(r.outputs[name], undefined, `${name} has no value`);
        }
        assert.ok(SECRET.length >= 7 && SECRET.length < OUTPUT_NAMES.length, "some outputs are secret, some are not");
    });

    it("is what the program exports, with the same secrecy", async () => {
        const r = await renderProgram(readStackConfig("dev"));
        assert.deepStrictEqual(Object.keys(r.outputs).sort(), [...OUTPUT_NAMES].sort());
        assert.deepStrictEqual([...r.secretOutputs].sort(), [...SECRET].sort());
    });
});

/**
 * `npm run render` prints YAML that every Kubernetes tool reads as the component meant. kubectl and most Go
 * tools read YAML 1.1, where an unquoted `on` is a boolean and `2026-11-25 20:00:00+00` a timestamp: each stack
 * variant's print is read back with a YAML 1.1 reader and with a YAML 1.2 reader, and must equal the objects.
 */
import * as assert from "assert";
import { parseAllDocuments } from "yaml";
import { toYaml } from "../../render/manifests";
import { STACK_VARIANTS } from "./variants";

const readBack = (text: string, version: "1.1" | "1.2") => parseAllDocuments(text, { version }).map((d) => d.toJS());

describe("the render's YAML", () => {
    for (const { what, render } of STACK_VARIANTS) {
        it(`reads back as the same objects under YAML 1.1 and 1.2: ${what}`, async () => {
            const manifests = (await render()).manifests;
            const text = toYaml(manifests);
            const objects = JSON.parse(JSON.stringify(manifests));
            assert.deepStrictEqual(readBack(text, "1.1"), objects);
            assert.deepStrictEqual(readBack(text, "1.2"), objects);
        });
    }

    it("quotes the strings YAML 1.1 would read as something else (the check is not vacuous)", () => {
        const env = ["on", "off", "yes", "no", "y", "2026-11-25 20:00:00+00", "0755", "1:20", "1_000", "~"].map((value, i) => ({ name: `V${i}`, value }));
        const m = { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "x" }, data: { env: env as unknown as string } };
        const text = toYaml([m]);
        assert.deepStrictEqual(readBack(text, "1.1"), [JSON.parse(JSON.stringify(m))]);
        // What the old print (YAML 1.2 rules) gave a YAML 1.1 reader: `on` as true.
        const { stringify } = require("yaml") as typeof import("yaml");
        assert.strictEqual(readBack(`---\n${stringify(m, { lineWidth: 0 })}`, "1.1")[0].data.env[0].value, true);
    });
});

/** The shared renders of helpers.ts: the same objects as a fresh render, and a copy of their own per test. */
import * as assert from "assert";
import { Rendered, renderComponent as renderAfresh } from "../../render/render";
import { STATIC_ARGS, find, renderComponent } from "./helpers";

// Two renders may register the same objects in another order (registration is asynchronous).
type Named = { kind?: string; type?: string; metadata?: { name: string }; name?: string };
const key = (x: Named) => `${x.kind ?? x.type}/${x.metadata?.name ?? x.name}`;
const sorted = <T extends Named>(xs: T[]) => [...xs].sort((a, b) => key(a).localeCompare(key(b)));
const byName = (r: Rendered) => ({ manifests: sorted(r.manifests), resources: sorted(r.resources), outputs: r.outputs, secretOutputs: [...r.secretOutputs].sort() });

describe("shared renders (tests/unit/helpers.ts)", () => {
    it("give what a fresh render gives", async () => {
        const fresh = await renderAfresh("db", STATIC_ARGS);
        assert.deepStrictEqual(byName(await renderComponent("db", STATIC_ARGS)), byName(fresh));
        assert.deepStrictEqual(byName(await renderComponent("db", { ...STATIC_ARGS })), byName(fresh));
    });

    it("give each caller its own copy: one test's edits do not reach the next", async () => {
        const first = await renderComponent("db", STATIC_ARGS);
        find(first, "StatefulSet").spec.replicas = 99;
        first.outputs.port = 1;
        const second = await renderComponent("db", STATIC_ARGS);
        assert.notStrictEqual(second, first);
        assert.strictEqual(find(second, "StatefulSet").spec.replicas, 3);
        assert.strictEqual(second.outputs.port, 5432);
    });

    it("tell apart args that differ, and render args with undefined in them afresh", async () => {
        const two = await renderComponent("db", { replicas: 2 });
        const one = await renderComponent("db", { replicas: 1 });
        assert.deepStrictEqual([find(two, "StatefulSet").spec.replicas, find(one, "StatefulSet").spec.replicas], [3, 2]);
        const unset = await renderComponent("db", { replicas: 1, namespace: undefined });
        assert.deepStrictEqual(byName(unset), byName(one));
    });

    it("pass a failed render's error on, every time", async () => {
        for (let i = 0; i < 2; i++) {
            await assert.rejects(renderComponent("db", { replicas: -1 }), /invalid replicas: -1/);
        }
    });
});

import * as assert from "assert";
import { withoutPromiseStacks } from "../../components/promiseStacks";
import { renderComponent } from "../../render/render";

type Format = (error: Error, sites: NodeJS.CallSite[]) => unknown;

const DEBUGGABLE_FILE = "/x/node_modules/@pulumi/pulumi/runtime/debuggable.js";
const site = (file: string) => ({ getFileName: () => file }) as unknown as NodeJS.CallSite;

/** Runs `fn` with `format` as the process's stack formatter, then puts the one before back. */
async function withFormatter<T>(format: Format, fn: () => Promise<T> | T): Promise<T> {
    const before = Error.prepareStackTrace;
    Error.prepareStackTrace = format as typeof Error.prepareStackTrace;
    try {
        return await fn();
    } finally {
        Error.prepareStackTrace = before;
    }
}

describe("Pulumi's per-promise traces while the component registers (components/promiseStacks.ts)", () => {
    const mapped: Format = (error, sites) => `${error} MAPPED(${sites.length})`;

    it("leaves the traces made in debuggable.js unformatted and formats every other one as before", async () => {
        await withFormatter(mapped, () => {
            const inside = withoutPromiseStacks(() => {
                const format = Error.prepareStackTrace as unknown as Format;
                return [format(new Error("leak"), [site(DEBUGGABLE_FILE), site("/app/index.js")]), format(new Error("bug"), [site("/app/index.js")])];
            });
            assert.deepStrictEqual(inside, ["Error: leak", "Error: bug MAPPED(1)"]);
            assert.strictEqual(Error.prepareStackTrace, mapped, "the formatter is put back");
        });
    });

    it("puts the formatter back when the constructor throws, and keeps one installed meanwhile by someone else", async () => {
        await withFormatter(mapped, () => {
            assert.throws(() => withoutPromiseStacks(() => { throw new Error("boom"); }), /boom/);
            assert.strictEqual(Error.prepareStackTrace, mapped);
            const other: Format = () => "other";
            withoutPromiseStacks(() => { Error.prepareStackTrace = other as typeof Error.prepareStackTrace; });
            assert.strictEqual(Error.prepareStackTrace, other);
        });
    });

    it("changes nothing with PULUMI_DEBUG_PROMISE_LEAKS set (the leak report prints those traces) or with no formatter installed", async () => {
        const saved = process.env.PULUMI_DEBUG_PROMISE_LEAKS;
        process.env.PULUMI_DEBUG_PROMISE_LEAKS = "1";
        try {
            await withFormatter(mapped, () => withoutPromiseStacks(() => assert.strictEqual(Error.prepareStackTrace, mapped)));
        } finally {
            if (saved === undefined) delete process.env.PULUMI_DEBUG_PROMISE_LEAKS;
            else process.env.PULUMI_DEBUG_PROMISE_LEAKS = saved;
        }
        await withFormatter(undefined as unknown as Format, () => withoutPromiseStacks(() => assert.strictEqual(Error.prepareStackTrace, undefined)));
    });

    it("under mocks: no promise trace of the children reaches the formatter, the call sites of their source positions do", async () => {
        // What reaches the formatter, by the first frame's file, for traces with a frame in the component's code; not
        // the component's own registration (super(), before the children).
        const seen = { debuggable: 0, other: 0 };
        const counting: Format = (error, sites) => {
            const own = sites.some((s) => s.getFunctionName() === "ComponentResource");
            if (!own && sites.some((s) => /[\\/]components[\\/]/.test(s.getFileName() ?? ""))) {
                seen[/debuggable\.js$/.test(sites[0]?.getFileName() ?? "") ? "debuggable" : "other"]++;
            }
            return `${error}`;
        };
        const rendered = await withFormatter(counting, () => renderComponent("stacks", { replicas: 1 }));
        assert.ok(rendered.resources.length > 20, `${rendered.resources.length} resources`);
        assert.strictEqual(seen.debuggable, 0);
        // Resource.callsites(): one per resource registered by the component's code.
        assert.ok(seen.other >= rendered.resources.length - 2, `${seen.other} call-site traces`);
    });
});

/** The `failover` arg (a topology of the engine) and its deprecated alias `automatedFailover`. */
import * as assert from "assert";
import * as pulumi from "@pulumi/pulumi";
import { resolveArgs } from "../../components/resolve";
import { checkFailover, failoverDeprecation, resolveFailover } from "../../components/failover";
import { configKey, resolveConfig } from "../../program/config";
import { renderComponent } from "../../render/render";

const IMAGE = "registry.example.com/postgres-patroni:17.6";
const MODES = ["manual", "patroni"];

/** Runs `f` with pulumi.log.warn recorded instead of printed. */
async function warningsOf(f: () => Promise<unknown>): Promise<{ message: string; resource: unknown }[]> {
    const seen: { message: string; resource: unknown }[] = [];
    const original = pulumi.log.warn;
    (pulumi.log as { warn: typeof pulumi.log.warn }).warn = async (message: string, resource?: pulumi.Resource) => {
        seen.push({ message, resource });
    };
    try {
        await f();
    } finally {
        (pulumi.log as { warn: typeof pulumi.log.warn }).warn = original;
    }
    return seen;
}

describe("the failover setting", () => {
    it("defaults to manual and takes the engine's topologies", () => {
        assert.strictEqual(resolveArgs("db").failover, "manual");
        assert.strictEqual(resolveArgs("db", { failover: "manual", primaryOrdinal: 1 }).failover, "manual");
        assert.strictEqual(resolveArgs("db", { failover: "patroni", image: IMAGE }).failover, "patroni");
    });

    it("refuses any other value, naming the setting, the value and the allowed values", () => {
        const message = (v: unknown) =>
            v === null
                ? "invalid failover: null (allowed: a value; leave the setting out to take its default)"
                : `invalid failover: ${JSON.stringify(v)} (allowed: one of "manual", "patroni")`;
        for (const bad of ["auto", "Patroni", "", "true", true, 1, null]) {
            assert.throws(() => resolveArgs("db", { failover: bad as unknown as string }), (e: Error) => e.message === message(bad) || assert.fail(e.message));
        }
        assert.throws(() => checkFailover("failover", "raft", ["manual"]), /^ArgError: invalid failover: "raft" \(allowed: one of "manual"\)$/);
        assert.strictEqual(checkFailover("failover", "manual", ["manual"]), "manual");
    });

    it("names the stack config key in the program", () => {
        assert.strictEqual(resolveConfig({ "replicated-db:failover": "patroni", "replicated-db:image": IMAGE }).failover, "patroni");
        assert.throws(
            () => resolveConfig({ "replicated-db:failover": "etcd" }),
            (e: Error) => e.message === 'invalid replicated-db:failover: "etcd" (allowed: one of "manual", "patroni")' || assert.fail(e.message),
        );
    });
});

describe("the deprecated automatedFailover alias", () => {
    it("maps true to patroni and false to manual", () => {
        assert.strictEqual(resolveFailover({ automatedFailover: true }, MODES), "patroni");
        assert.strictEqual(resolveFailover({ automatedFailover: false }, MODES), "manual");
        assert.strictEqual(resolveArgs("db", { automatedFailover: true, image: IMAGE }).failover, "patroni");
        assert.strictEqual(resolveArgs("db", { automatedFailover: false }).failover, "manual");
        // Both set and agreeing is accepted.
        assert.strictEqual(resolveFailover({ automatedFailover: true, failover: "patroni" }, MODES), "patroni");
        assert.strictEqual(resolveFailover({ automatedFailover: false, failover: "manual" }, MODES), "manual");
    });

    it("refuses both settings when they disagree, and a non-boolean alias", () => {
        assert.throws(
            () => resolveArgs("db", { automatedFailover: true, failover: "manual", image: IMAGE }),
            (e: Error) =>
                e.message === 'invalid automatedFailover: true (allowed: unset, as it is deprecated and failover replaces it; or false, which agrees with failover "manual")' ||
                assert.fail(e.message),
        );
        assert.throws(
            () => resolveConfig({ "replicated-db:automatedFailover": "false", "replicated-db:failover": "patroni", "replicated-db:image": IMAGE }),
            /^ArgError: invalid replicated-db:automatedFailover: false \(allowed: unset, as it is deprecated and replicated-db:failover replaces it; or true, which agrees with replicated-db:failover "patroni"\)$/,
        );
        assert.throws(() => resolveArgs("db", { automatedFailover: "yes" as unknown as boolean, image: IMAGE }), /^ArgError: invalid automatedFailover: "yes" \(allowed: true or false\)$/);
        // An engine without the topology the alias stands for.
        assert.throws(() => resolveFailover({ automatedFailover: true }, ["manual"]), /invalid automatedFailover: true \(allowed: unset: it stands for failover "patroni", which the engine does not offer\)/);
    });

    it("keeps the Patroni rules when reached through the alias", () => {
        assert.throws(() => resolveArgs("db", { automatedFailover: true }), /invalid image: "\(unset\)" \(allowed: an image with Patroni 3\.3 or newer/);
        assert.throws(() => resolveArgs("db", { automatedFailover: true, image: IMAGE, primaryOrdinal: 2 }), /invalid primaryOrdinal: 2 \(allowed: 0 \(unset\)/);
    });

    it("warns once through pulumi.log.warn, on the component, naming the replacement", async () => {
        let rendered: Awaited<ReturnType<typeof renderComponent>> | undefined;
        const seen = await warningsOf(async () => {
            rendered = await renderComponent("db", { automatedFailover: true, image: IMAGE });
        });
        assert.strictEqual(seen.length, 1, JSON.stringify(seen.map((s) => s.message)));
        assert.strictEqual(seen[0].message, 'automatedFailover is deprecated and will be removed in the next release: set failover: "patroni" instead');
        assert.ok(pulumi.ComponentResource.isInstance(seen[0].resource), "the warning is attached to the component");
        // It renders exactly what failover: "patroni" renders.
        const modern = await renderComponent("db", { failover: "patroni", image: IMAGE });
        assert.deepStrictEqual(rendered!.manifests, modern.manifests);
        assert.strictEqual(failoverDeprecation({ automatedFailover: false }, configKey), 'replicated-db:automatedFailover is deprecated and will be removed in the next release: set replicated-db:failover: "manual" instead');
    });

    it("does not warn without the alias", async () => {
        assert.deepStrictEqual(await warningsOf(() => renderComponent("db", { failover: "patroni", image: IMAGE })), []);
        assert.deepStrictEqual(await warningsOf(() => renderComponent("db")), []);
        assert.strictEqual(failoverDeprecation({ failover: "patroni" }), undefined);
    });
});

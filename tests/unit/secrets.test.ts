/** Every password and connection string stays a Pulumi secret, in state and in outputs. */
import * as assert from "assert";
import * as pulumi from "@pulumi/pulumi";
import { connection } from "../../components/engines/postgres/connection";
import { OUTPUTS, OUTPUT_NAMES } from "../../components/outputs";
import { plan } from "../../components/plan";
import { TYPE_TOKEN } from "../../components/replicatedDatabase";
import { MOUNT_PATHS } from "../../components/core/context";
import { resolveArgs } from "../../components/resolve";
import { renderComponent } from "../../render/render";
import { find, resource } from "./helpers";

const PATRONI_IMAGE = "registry.example.com/postgres-patroni:17.6";
import { ParsedUri, parseJdbcUrl, parseLibpqUri } from "./uris";

const SECRET_OUTPUTS = OUTPUT_NAMES.filter((n) => OUTPUTS[n].secret);
const PLAIN_OUTPUTS = OUTPUT_NAMES.filter((n) => !OUTPUTS[n].secret);
/** The outputs that carry a connection string, and the parsers for their forms. */
const URI_OUTPUTS = OUTPUT_NAMES.filter((n) => /ConnectionString$|Url$/.test(n));

/** Parses a connection string by its form; a single-host libpq URI must also parse as a WHATWG URL, alike. */
function parseAny(text: string): ParsedUri {
    if (text.startsWith("jdbc:")) return parseJdbcUrl(text);
    const parsed = parseLibpqUri(text);
    if (parsed.hosts.length === 1) {
        const url = new URL(text);
        assert.strictEqual(decodeURIComponent(url.password), parsed.password, `WHATWG and libpq read different passwords from ${text}`);
        assert.strictEqual(decodeURIComponent(url.username), parsed.user);
        assert.strictEqual(`${url.hostname}:${url.port}`, `${parsed.hosts[0].host}:${parsed.hosts[0].port}`);
        assert.strictEqual(decodeURIComponent(url.pathname.slice(1)), parsed.database);
    }
    return parsed;
}

async function valueOf<T>(out: pulumi.Output<T>): Promise<{ value: T; secret: boolean }> {
    const value = await new Promise<T>((resolve) => out.apply((v) => resolve(v)));
    return { value, secret: Boolean(await (out as any).isSecret) };
}

describe("secrets", () => {
    it("generates four strong passwords with random, marked secret in state", async () => {
        const r = await renderComponent("db");
        for (const role of ["superuser", "replication", "app", "rewind"]) {
            const pw = resource(r, `db-${role}-password`);
            assert.strictEqual(pw.type, "random:index/randomPassword:RandomPassword");
            assert.strictEqual(pw.inputs.length, 32);
            assert.strictEqual(pw.inputs.special, false);
            assert.ok(pw.options.additionalSecretOutputs.includes("result"));
        }
    });

    it("stores them in the Secret as secret values only", async () => {
        const r = await renderComponent("db");
        const secret = find(r, "Secret", "db-credentials");
        assert.deepStrictEqual(Object.keys(secret.stringData).sort(), ["app-password", "monitoring-password", "replication-password", "rewind-password", "superuser-password"]);
        const captured = resource(r, "db-secret");
        // Pulumi may mark the whole map or each value; either way no value may travel in the clear.
        for (const key of Object.keys(secret.stringData)) {
            assert.ok(
                captured.secretPaths.some((p) => p === "stringData" || p === `stringData.${key}`),
                `stringData.${key} is not a secret (secret paths: ${captured.secretPaths.join(", ")})`,
            );
        }
        for (const out of ["data", "stringData"]) {
            assert.ok(captured.options.additionalSecretOutputs.includes(out), `${out} is not an additional secret output`);
        }
        assert.strictEqual(new Set(Object.values(secret.stringData)).size, 5, "the five passwords must differ");
    });

    it("keeps the passwords out of every other object", async () => {
        const r = await renderComponent("db");
        const passwords = Object.values(find(r, "Secret", "db-credentials").stringData) as string[];
        for (const m of r.manifests.filter((x) => x.kind !== "Secret")) {
            const text = JSON.stringify(m);
            for (const pw of passwords) {
                assert.ok(!text.includes(pw), `${m.kind} ${m.metadata.name} contains a password`);
            }
        }
    });

    it("makes exactly the listed outputs secret, and every connection string embeds the app password", async () => {
        for (const args of [{}, { existingSecretName: "team-pg" }, { pooler: { enabled: true, readOnly: true } }]) {
            const r = await renderComponent("db", args);
            for (const name of SECRET_OUTPUTS) assert.ok(r.secretOutputs.includes(name), `${name} should be secret`);
            for (const name of PLAIN_OUTPUTS) assert.ok(!r.secretOutputs.includes(name), `${name} should be plain`);
            const app = r.outputs.appPassword;
            assert.ok(app.length >= 16, `app password ${app.length} characters`);
            for (const name of URI_OUTPUTS) {
                assert.ok(OUTPUTS[name].secret, `${name} carries the password but is not listed secret`);
                // The pooled strings are empty without the pooler (the last config has both).
                if (name.startsWith("pooled") && !("pooler" in args)) {
                    assert.strictEqual(r.outputs[name], "", name);
                    continue;
                }
                const parsed = parseAny(r.outputs[name]);
                assert.strictEqual(parsed.password, app, name);
                assert.strictEqual(parsed.user, "app", name);
                assert.strictEqual(parsed.database, "app", name);
            }
            // No plain output carries the password.
            for (const name of PLAIN_OUTPUTS) assert.ok(!JSON.stringify(r.outputs[name]).includes(app), `${name} carries the password`);
        }
    });

    it("registers the component's secret outputs too", async () => {
        const r = await renderComponent("db");
        const component = r.resources.find((x) => x.type === TYPE_TOKEN)!;
        assert.ok(component, "the component itself is registered");
        assert.strictEqual(component.custom, false);
    });

    it("rolls new passwords when passwordVersion is bumped", async () => {
        const v1 = find(await renderComponent("db"), "Secret", "db-credentials").stringData;
        const v2 = find(await renderComponent("db", { passwordVersion: 2 }), "Secret", "db-credentials").stringData;
        for (const key of Object.keys(v1)) {
            assert.notStrictEqual(v1[key], v2[key], key);
        }
        const r = await renderComponent("db", { passwordVersion: 2 });
        assert.deepStrictEqual(resource(r, "db-app-password").inputs.keepers, { version: "2" });
    });

    it("gives Patroni's REST API a password of its own, mounted in the database container only, and only with Patroni", async () => {
        const r = await renderComponent("db", { failover: "patroni", image: PATRONI_IMAGE });
        const secret = find(r, "Secret", "db-credentials");
        assert.ok(secret.stringData["patroni-api-password"]);
        assert.strictEqual(new Set(Object.values(secret.stringData)).size, Object.keys(secret.stringData).length, "every password differs");
        assert.ok(resource(r, "db-secret").secretPaths.some((p) => p === "stringData" || p === "stringData.patroni-api-password"));
        const volume = find(r, "StatefulSet").spec.template.spec.volumes.find((v: any) => v.name === "secret");
        assert.ok(volume.secret.items.some((i: any) => i.key === "patroni-api-password"));
        const manual = await renderComponent("db", { failover: "manual" });
        assert.ok(!("patroni-api-password" in find(manual, "Secret", "db-credentials").stringData));
        assert.ok(!find(manual, "StatefulSet").spec.template.spec.volumes.find((v: any) => v.name === "secret").secret.items.some((i: any) => i.key === "patroni-api-password"));
        // patroni.sh hands the REST API that key, never the superuser's.
        const script = find(r, "ConfigMap", "db-scripts").data["patroni.sh"] as string;
        assert.match(script, /restapi:\n  authentication: \{username: patroni, password: \$\(quoted patroni-api-password\)\}/);
    });

    it("reads an existing Secret instead of generating one", async () => {
        const r = await renderComponent("db", { existingSecretName: "team-pg" });
        // Only the TLS Secret is the component's own.
        assert.deepStrictEqual(r.manifests.filter((m) => m.kind === "Secret").map((m) => m.metadata.name), ["db-tls"]);
        assert.strictEqual(r.resources.filter((x) => x.type.startsWith("random:")).length, 0);
        const read = resource(r, "db-existing-secret");
        assert.strictEqual(read.read, true);
        const volume = find(r, "StatefulSet").spec.template.spec.volumes.find((v: any) => v.name === "secret");
        assert.strictEqual(volume.secret.secretName, "team-pg");
        assert.ok(r.secretOutputs.includes("writeConnectionString"));
    });

    it("encodes any password so that every connection string gives it back exactly", async () => {
        const passwords = ["p@ss:w/rd?#%&+ x\\y\"z'", "%41%2B+", " leading and trailing ", "a=b&c=d", "ünï©ødé", "\\"];
        const args = resolveArgs("db", { replicas: 2, appUser: "app_user", appDatabase: "orders" });
        const p = plan(args, { rbacSuffix: "labeler" });
        const ctx = { args, names: p.names, plan: p, paths: { ...MOUNT_PATHS }, selector: {} };
        for (const pw of passwords) {
            const strings = connection(ctx, pulumi.secret(pw));
            for (const [key, out] of Object.entries(strings) as [string, pulumi.Output<string>][]) {
                const { value, secret } = await valueOf(out);
                assert.ok(secret, `${key} is not secret`);
                const parsed = parseAny(value);
                assert.strictEqual(parsed.password, pw, `${key} for ${JSON.stringify(pw)}: ${value}`);
                assert.strictEqual(parsed.user, "app_user", key);
                assert.strictEqual(parsed.database, "orders", key);
                assert.ok(parsed.hosts.every((h) => h.port === 5432), key);
            }
        }
    });

    it("writes through every pod with read-write targeting, and reads from the replicas only", async () => {
        const hosts = (r: { outputs: Record<string, string> }, key: string) => parseAny(r.outputs[key]).hosts.map((h) => h.host.split(".")[0]);
        const params = (r: { outputs: Record<string, string> }, key: string) => parseAny(r.outputs[key]).params;
        const r = await renderComponent("db", { replicas: 2 });
        assert.deepStrictEqual(hosts(r, "writeMultiHostConnectionString"), ["db-0", "db-1", "db-2"]);
        assert.deepStrictEqual(params(r, "writeMultiHostConnectionString"), { target_session_attrs: "read-write", sslmode: "verify-full" });
        assert.deepStrictEqual(hosts(r, "jdbcWriteMultiHostUrl"), ["db-0", "db-1", "db-2"]);
        assert.deepStrictEqual(params(r, "jdbcWriteMultiHostUrl"), { targetServerType: "primary", ssl: "true", sslmode: "verify-full" });
        assert.deepStrictEqual(hosts(r, "readMultiHostConnectionString"), ["db-1", "db-2"]);
        assert.deepStrictEqual(params(r, "readMultiHostConnectionString"), { target_session_attrs: "standby", sslmode: "verify-full" });
        assert.deepStrictEqual(hosts(r, "jdbcReadUrl"), ["db-1", "db-2"]);
        assert.deepStrictEqual(params(r, "jdbcReadUrl"), { targetServerType: "secondary", loadBalanceHosts: "true", ssl: "true", sslmode: "verify-full" });
        assert.deepStrictEqual(hosts(r, "writeConnectionString"), ["db-rw"]);
        assert.deepStrictEqual(hosts(r, "jdbcWriteUrl"), ["db-rw"]);
        assert.deepStrictEqual(hosts(r, "readConnectionString"), ["db-ro"]);
        assert.strictEqual(parseAny(r.outputs.writeMultiHostConnectionString).hosts[0].host, "db-0.db-headless.default.svc.cluster.local");

        const moved = await renderComponent("db", { replicas: 2, primaryOrdinal: 1 });
        // The configured primary first: the driver tries the hosts in order.
        assert.deepStrictEqual(hosts(moved, "writeMultiHostConnectionString"), ["db-1", "db-0", "db-2"]);
        assert.deepStrictEqual(hosts(moved, "jdbcWriteMultiHostUrl"), ["db-1", "db-0", "db-2"]);
        assert.deepStrictEqual(hosts(moved, "readMultiHostConnectionString"), ["db-0", "db-2"]);

        const alone = await renderComponent("db", { replicas: 0 });
        assert.deepStrictEqual(hosts(alone, "writeMultiHostConnectionString"), ["db-0"]);
        assert.deepStrictEqual(hosts(alone, "readMultiHostConnectionString"), ["db-0"]);
        assert.deepStrictEqual(params(alone, "readMultiHostConnectionString"), { target_session_attrs: "prefer-standby", sslmode: "verify-full" });
        assert.deepStrictEqual(params(alone, "jdbcReadUrl"), { targetServerType: "preferSecondary", loadBalanceHosts: "true", ssl: "true", sslmode: "verify-full" });
    });
});

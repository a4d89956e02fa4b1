/** Every password and connection string stays a Pulumi secret, in state and in outputs. */
import * as assert from "assert";
import { TYPE_TOKEN } from "../../components/replicatedDatabase";
import { renderComponent } from "../../render/render";
import { find, resource } from "./helpers";

const SECRET_OUTPUTS = ["appPassword", "writeConnectionString", "readConnectionString", "readMultiHostConnectionString", "jdbcWriteUrl", "jdbcReadUrl"];

describe("secrets", () => {
    it("generates three strong passwords with random, marked secret in state", async () => {
        const r = await renderComponent("db");
        for (const role of ["superuser", "replication", "app"]) {
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
        assert.deepStrictEqual(Object.keys(secret.stringData).sort(), ["app-password", "replication-password", "superuser-password"]);
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
        assert.strictEqual(new Set(Object.values(secret.stringData)).size, 3, "the three passwords must differ");
    });

    it("keeps the passwords out of every other object", async () => {
        const r = await renderComponent("db");
        const passwords = Object.values(find(r, "Secret").stringData) as string[];
        for (const m of r.manifests.filter((x) => x.kind !== "Secret")) {
            const text = JSON.stringify(m);
            for (const pw of passwords) {
                assert.ok(!text.includes(pw), `${m.kind} ${m.metadata.name} contains a password`);
            }
        }
    });

    it("makes every connection string and the app password secret outputs, embedding the app password", async () => {
        const r = await renderComponent("db");
        assert.deepStrictEqual([...r.secretOutputs].sort(), [...SECRET_OUTPUTS].sort());
        const app = find(r, "Secret").stringData["app-password"];
        assert.strictEqual(r.outputs.appPassword, app);
        for (const key of SECRET_OUTPUTS.slice(1)) {
            assert.ok(r.outputs[key].includes(app), key);
        }
    });

    it("registers the component's secret outputs too", async () => {
        const r = await renderComponent("db");
        const component = r.resources.find((x) => x.type === TYPE_TOKEN)!;
        assert.ok(component, "the component itself is registered");
        assert.strictEqual(component.custom, false);
    });

    it("rolls new passwords when passwordVersion is bumped", async () => {
        const v1 = find(await renderComponent("db"), "Secret").stringData;
        const v2 = find(await renderComponent("db", { passwordVersion: 2 }), "Secret").stringData;
        for (const key of Object.keys(v1)) {
            assert.notStrictEqual(v1[key], v2[key], key);
        }
        const r = await renderComponent("db", { passwordVersion: 2 });
        assert.deepStrictEqual(resource(r, "db-app-password").inputs.keepers, { version: "2" });
    });

    it("reads an existing Secret instead of generating one", async () => {
        const r = await renderComponent("db", { existingSecretName: "team-pg" });
        assert.strictEqual(r.manifests.filter((m) => m.kind === "Secret").length, 0);
        assert.strictEqual(r.resources.filter((x) => x.type.startsWith("random:")).length, 0);
        const read = resource(r, "db-existing-secret");
        assert.strictEqual(read.read, true);
        const volume = find(r, "StatefulSet").spec.template.spec.volumes.find((v: any) => v.name === "secret");
        assert.strictEqual(volume.secret.secretName, "team-pg");
        assert.ok(r.secretOutputs.includes("writeConnectionString"));
    });

    it("url-encodes the password and targets standbys in the multi-host strings", async () => {
        const r = await renderComponent("db", { replicas: 2 });
        const o = r.outputs;
        assert.match(o.readMultiHostConnectionString, /@db-1\.db-headless\.default\.svc\.cluster\.local:5432,db-2\.db-headless\.default\.svc\.cluster\.local:5432\/app\?target_session_attrs=standby$/);
        assert.match(o.jdbcReadUrl, /^jdbc:postgresql:\/\/db-1\..*,db-2\..*\/app\?targetServerType=secondary&loadBalanceHosts=true&user=app&password=/);
        assert.match(o.jdbcWriteUrl, /^jdbc:postgresql:\/\/db-rw\.default\.svc\.cluster\.local:5432\/app\?user=app&password=/);
        const moved = await renderComponent("db", { replicas: 2, primaryOrdinal: 1 });
        assert.match(moved.outputs.readMultiHostConnectionString, /@db-0\..*:5432,db-2\..*:5432\/app\?target_session_attrs=standby$/);
        const alone = await renderComponent("db", { replicas: 0 });
        assert.match(alone.outputs.readMultiHostConnectionString, /@db-0\..*\?target_session_attrs=prefer-standby$/);
    });
});

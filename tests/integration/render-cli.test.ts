/** `npm run render`: YAML on stdout with masked secrets; bad config is one line on stderr and exit 1. */
import * as assert from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { parseAllDocuments } from "yaml";
import { OUTPUTS, OUTPUT_NAMES } from "../../components/outputs";

const ROOT = path.join(__dirname, "..", "..");

function render(...args: string[]) {
    const r = spawnSync(process.execPath, [require.resolve("ts-node/dist/bin"), "--transpile-only", "scripts/render.ts", ...args], {
        cwd: ROOT,
        encoding: "utf8",
        timeout: 60000,
    });
    return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe("npm run render", () => {
    it("prints every object of the dev stack as YAML, secrets masked unless asked", () => {
        const masked = render("--stack", "dev");
        assert.strictEqual(masked.code, 0, masked.stderr);
        const docs = parseAllDocuments(masked.stdout).map((d) => d.toJS());
        const kinds = docs.map((d) => d.kind);
        for (const kind of ["StorageClass", "PersistentVolume", "PersistentVolumeClaim", "Service", "StatefulSet", "Secret", "ConfigMap", "Role", "RoleBinding", "ServiceAccount", "PodDisruptionBudget"]) {
            assert.ok(kinds.includes(kind), `no ${kind} in the render`);
        }
        const secret = docs.find((d) => d.kind === "Secret");
        assert.deepStrictEqual(Object.values(secret.stringData), ["[secret]", "[secret]", "[secret]", "[secret]", "[secret]"]);

        const shown = render("--stack", "dev", "--show-secrets");
        assert.strictEqual(shown.code, 0, shown.stderr);
        const real = parseAllDocuments(shown.stdout).map((d) => d.toJS()).find((d) => d.kind === "Secret");
        for (const value of Object.values(real.stringData) as string[]) {
            assert.match(value, /^[A-Za-z0-9]{32}$/);
            assert.ok(!masked.stdout.includes(value), "a password leaked into the masked render");
        }
    });

    it("prints the stack outputs as JSON with --outputs, as pulumi stack output --json does", () => {
        const masked = render("--stack", "dev", "--outputs");
        assert.strictEqual(masked.code, 0, masked.stderr);
        const outputs = JSON.parse(masked.stdout);
        assert.deepStrictEqual(Object.keys(outputs), [...OUTPUT_NAMES].sort(), "every output, keys sorted");
        assert.strictEqual(masked.stdout, `${JSON.stringify(outputs, null, 2)}\n`, "indented by two spaces");
        assert.strictEqual(outputs.primaryHost, "db-rw.default.svc.cluster.local");
        assert.strictEqual(outputs.port, 5432);
        for (const name of OUTPUT_NAMES) {
            assert.strictEqual(outputs[name] === "[secret]", OUTPUTS[name].secret, `${name} masked iff secret`);
        }

        const shown = JSON.parse(render("--stack", "dev", "--outputs", "--show-secrets").stdout);
        assert.deepStrictEqual(Object.keys(shown), Object.keys(outputs));
        assert.match(shown.appPassword, /^[A-Za-z0-9]{32}$/);
        assert.strictEqual(shown.writeConnectionString, `postgresql://app:${shown.appPassword}@db-rw.default.svc.cluster.local:5432/app?sslmode=verify-full`);
        assert.ok(!masked.stdout.includes(shown.appPassword), "the password leaked into the masked outputs");
        for (const name of OUTPUT_NAMES.filter((n) => !OUTPUTS[n].secret)) assert.deepStrictEqual(shown[name], outputs[name], name);
    });

    it("fails with one line naming the key, the value and what is allowed, and renders nothing", () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "rdb-render-"));
        try {
            fs.writeFileSync(path.join(dir, "Pulumi.bad.yaml"), "config:\n  replicated-db:replicas: \"-1\"\n");
            const r = render("--stack", "bad", "--dir", dir);
            assert.strictEqual(r.code, 1);
            assert.strictEqual(r.stdout, "");
            assert.strictEqual(r.stderr, "error: invalid replicated-db:replicas: -1 (allowed: a whole number from 0 to 30)\n");
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });

    it("names a missing stack and a bad flag", () => {
        const missing = render("--stack", "nope");
        assert.strictEqual(missing.code, 1);
        assert.match(missing.stderr, /^error: invalid --stack: "nope" \(allowed: one of dev, prod; no Pulumi\.nope\.yaml\)\n$/);
        const flag = render("--stak", "dev");
        assert.strictEqual(flag.code, 1);
        assert.match(flag.stderr, /^error: unknown argument "--stak"/);
    });
});

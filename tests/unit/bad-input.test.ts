/**
 * Inputs that used to be accepted and would mislead: each is refused before any resource exists, in one line
 * that names the setting, the value and what is allowed.
 */
import * as assert from "assert";
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { ReplicatedDatabaseArgs } from "../../components/args";
import { checkCron } from "../../components/backup/cron";
import { SSL_CIPHERS, postgresqlConf } from "../../components/engines/postgres/config";
import { UNSAFE_PARAMETERS } from "../../components/engines/postgres";
import { resolveArgs } from "../../components/resolve";
import { ArgError } from "../../components/validation";
import { resolveConfig } from "../../program/config";

const IMAGE = "registry.example/replicated-db-postgres:17.6";

/** The error resolveArgs throws for these args: an ArgError on one line. */
function refusal(args: unknown): string {
    try {
        resolveArgs("db", args as ReplicatedDatabaseArgs);
    } catch (e) {
        assert.ok(e instanceof ArgError, String(e));
        assert.ok(!e.message.includes("\n"), `more than one line: ${JSON.stringify(e.message)}`);
        return e.message;
    }
    return assert.fail(`accepted: ${JSON.stringify(args)}`);
}

describe("bad input that used to be accepted", () => {
    it("refuses the superuser and PostgreSQL's reserved names for the component's roles", () => {
        for (const setting of ["appUser", "replicationUser"]) {
            for (const role of ["postgres", "pg_monitor", "pg_read_all_data", "public"]) {
                assert.match(refusal({ [setting]: role }), new RegExp(`^invalid ${setting}: "${role}" \\(allowed: a role of its own: not "postgres", .* nor a "pg_" name`));
            }
        }
        assert.match(refusal({ monitoring: { user: "pg_monitor" } }), /^invalid monitoring.user: "pg_monitor" \(allowed: a role of its own/);
        // The component's rewind role (pg_rewind's login on a new primary) and the backup Jobs' role are its own too.
        for (const args of [{ appUser: "rewind" }, { replicationUser: "rewind" }, { monitoring: { user: "rewind" } }]) {
            assert.match(refusal(args), /^invalid (appUser|replicationUser|monitoring\.user): "rewind" \(allowed: a role other than the component's rewind role \("rewind"\): each identity has its own password\)$/);
        }
        for (const args of [{ appUser: "backup" }, { replicationUser: "backup" }, { monitoring: { user: "backup" } }]) {
            assert.match(refusal(args), /^invalid (appUser|replicationUser|monitoring\.user): "backup" \(allowed: a role other than the backup Jobs' role \("backup"\): each identity has its own password\)$/);
        }
        // Still fine: a role that is merely named like one.
        assert.strictEqual(resolveArgs("db", { appUser: "postgres_app" }).appUser, "postgres_app");
    });

    it("refuses the server's own databases as the application's", () => {
        for (const db of ["postgres", "template0", "template1"]) {
            assert.strictEqual(refusal({ appDatabase: db }), `invalid appDatabase: "${db}" (allowed: a database of its own, not "postgres", "template0", "template1" (the server's own))`);
        }
    });

    it("refuses floating images for the labeler and the exporter, as for the database and the pooler", () => {
        for (const image of ["docker.io/curlimages/curl:latest", "curlimages/curl", "localhost:5000/curl"]) {
            assert.strictEqual(
                refusal({ labelerImage: image }),
                `invalid labelerImage: "${image}" (allowed: an image with a version tag or a digest, such as "docker.io/curlimages/curl:8.11.1" (no "latest", no bare name: a floating tag changes what runs under you))`,
            );
        }
        assert.strictEqual(resolveArgs("db", { labelerImage: "localhost:5000/curl@sha256:" + "a".repeat(64) }).labelerImage, "localhost:5000/curl@sha256:" + "a".repeat(64));
        assert.match(refusal({ monitoring: { exporterImage: "exporter:latest" } }), /^invalid monitoring.exporterImage: "exporter:latest"/);
    });

    it("refuses a backup schedule on a day that never comes", () => {
        for (const cron of ["0 1 31 2 *", "0 0 30 2 *", "0 0 31 4,6,9,11 *", "0 0 30-31 FEB ?"]) {
            assert.throws(
                () => checkCron("backup.fullSchedule", cron),
                (e: Error) => e.message.startsWith(`invalid backup.fullSchedule: "${cron}"`) && e.message.includes("so it would never run"),
            );
        }
        // Rare but real: 29 February (leap years), the 31st of some month, or a weekday as well (either matches).
        for (const cron of ["0 0 29 2 *", "0 0 31 1-12 *", "0 0 31 */2 *", "0 0 31 2 1", "0 0 31 2 */2", "0 0 1-31/30 2 *"]) {
            assert.strictEqual(checkCron("s", cron), cron);
        }
        assert.match(refusal({ image: IMAGE, backup: { enabled: true, repositoryType: "volume", fullSchedule: "0 1 31 2 *" } }), /^invalid backup.fullSchedule: "0 1 31 2 \*"/);
    });

    it("refuses null for a setting instead of reading it as unset (prod's backups off)", () => {
        assert.strictEqual(refusal({ backup: null }), "invalid backup: null (allowed: a value; leave the setting out to take its default)");
        assert.strictEqual(refusal({ tls: { enabled: null } }), "invalid tls.enabled: null (allowed: a value; leave the setting out to take its default)");
        assert.throws(
            () => resolveConfig({ "replicated-db:backup": "null" }),
            (e: Error) => e.message === "invalid replicated-db:backup: null (allowed: a value; leave the setting out to take its default)" || assert.fail(e.message),
        );
    });

    it("refuses local volumes on fewer nodes than pods when anti-affinity is required", () => {
        const local = (nodeNames: string[], replicas: number) => ({
            createStorageClass: true,
            podAntiAffinity: "required",
            replicas,
            staticVolumes: { type: "local", nodeNames },
        });
        assert.match(
            refusal(local(["node-a", "node-b"], 3)),
            /^invalid staticVolumes.nodeNames: \["node-a","node-b"\] \(allowed: at least 4 different nodes \(one per pod: replicas \+ 1\) when podAntiAffinity is "required"/,
        );
        assert.match(refusal(local(["node-a", "node-a", "node-b"], 2)), /^invalid staticVolumes.nodeNames: /);
        assert.doesNotThrow(() => resolveArgs("db", local(["node-a", "node-b", "node-c"], 2) as ReplicatedDatabaseArgs));
        assert.doesNotThrow(() => resolveArgs("db", { ...local(["node-a"], 2), podAntiAffinity: "preferred" } as ReplicatedDatabaseArgs));
    });

    it("gives CPU and memory examples in their own units", () => {
        assert.strictEqual(refusal({ resources: { cpuRequest: "lots" } }), 'invalid resources.cpuRequest: "lots" (allowed: CPU: a Kubernetes quantity such as "500m", at least 1m)');
        assert.strictEqual(refusal({ resources: { memoryLimit: "lots" } }), 'invalid resources.memoryLimit: "lots" (allowed: memory: a Kubernetes quantity such as "512Mi", at least 64Mi)');
    });

    it("keeps a message on one line whatever a parameter's name holds", () => {
        const message = refusal({ parameters: { "work_mem\n = 1": "64MB" } });
        assert.strictEqual(message, 'invalid "parameters.work_mem\\n = 1": "work_mem\\n = 1" (allowed: a parameter name: lower case letters, digits, \'_\' and \'.\')');
    });
});

describe("parameters that would undo what the component promises", () => {
    it("are refused, naming the parameter, unless allowUnsafeParameters is true", () => {
        for (const [name, value] of [["ssl", "off"], ["ssl_min_protocol_version", "TLSv1"], ["ssl_ciphers", "ALL:NULL:eNULL"], ["password_encryption", "md5"], ["hba_file", "/tmp/x"]]) {
            assert.strictEqual(
                refusal({ parameters: { work_mem: "64MB", [name]: value } }),
                `invalid parameters.${name}: "${value}" (allowed: no value: ${name} is the component's (TLS, authentication or its files; docs/security.md, "Server parameters"); set allowUnsafeParameters to true to override it anyway)`,
            );
            assert.strictEqual(resolveArgs("db", { parameters: { [name]: value }, allowUnsafeParameters: true }).parameters[name], value);
        }
        assert.strictEqual(resolveArgs("db", { parameters: { work_mem: "64MB", ssl_renegotiation_limit: "0" } }).parameters.work_mem, "64MB");
        assert.throws(
            () => resolveConfig({ "replicated-db:parameters": '{"ssl":"off"}' }),
            (e: Error) => e.message.startsWith('invalid replicated-db:parameters.ssl: "off"') && e.message.includes("set replicated-db:allowUnsafeParameters to true") || assert.fail(e.message),
        );
    });

    it("are listed in docs/security.md exactly as the code refuses them", () => {
        const doc = fs.readFileSync(path.join(__dirname, "..", "..", "docs", "security.md"), "utf8");
        const block = doc.split("<!-- unsafe-parameters:")[1].split("\n\n")[0].split("\n").slice(1).join(" ");
        assert.deepStrictEqual([...block.matchAll(/`([a-z_0-9]+)`/g)].map((m) => m[1]), UNSAFE_PARAMETERS);
    });

    it("with TLS on, the server's TLS 1.2 suites are forward-secret AEAD only", async () => {
        const conf = postgresqlConf(resolveArgs("db", {}), "/tls");
        assert.match(conf, new RegExp(`^ssl_ciphers = '${SSL_CIPHERS.replace(/[+]/g, "\\+")}'$`, "m"));
        const suites = execFileSync("openssl", ["ciphers", "-tls1_2", SSL_CIPHERS], { encoding: "utf8" }).trim().split(":").filter((c) => !c.startsWith("TLS_"));
        assert.ok(suites.length >= 4, suites.join(":"));
        for (const c of suites) assert.match(c, /^ECDHE-(RSA|ECDSA)-(AES(128|256)-GCM-SHA(256|384)|CHACHA20-POLY1305)$/);
    });
});

/** Every validation error names the setting, the value and what is allowed, before anything is created. */
import * as assert from "assert";
import { ReplicatedDatabaseArgs } from "../../components/args";
import { resolveArgs, resolveParameters, resolveResources, resolveStaticVolumes } from "../../components/resolve";
import { imageMajor } from "../../components/engines/postgres";
import { ArgError, checkDnsLabel, checkInteger, checkQuantity, checkSettingsMap, parseQuantity } from "../../components/validation";
import { registeredBefore, renderComponent } from "../../render/render";

function rejects(args: Record<string, unknown>, message: string | RegExp): void {
    assert.throws(
        () => resolveArgs("db", args as ReplicatedDatabaseArgs),
        (err: unknown) => {
            assert.ok(err instanceof ArgError, `expected ArgError, got ${err}`);
            if (typeof message === "string") assert.strictEqual(err.message, message);
            else assert.match(err.message, message);
            return true;
        },
    );
}

describe("validation helpers", () => {
    it("parses Kubernetes quantities", () => {
        assert.strictEqual(parseQuantity("1Gi"), 2 ** 30);
        assert.strictEqual(parseQuantity("500M"), 5e8);
        assert.strictEqual(parseQuantity("250m"), 0.25);
        assert.strictEqual(parseQuantity("2"), 2);
        assert.strictEqual(parseQuantity("1.5Gi"), 1.5 * 2 ** 30);
        for (const bad of ["", "ten", "10 Gi", "10GB", "-1Gi", "Gi"]) {
            assert.strictEqual(parseQuantity(bad), undefined, bad);
        }
    });
    it("checks integers, labels and quantities with their ranges", () => {
        assert.throws(() => checkInteger("x", 3, 0, 2), /^ArgError: invalid x: 3 \(allowed: a whole number from 0 to 2\)$/);
        assert.throws(() => checkDnsLabel("n", "a".repeat(64)), /invalid n: "a{64}"/);
        assert.throws(() => checkQuantity("s", "512Mi", "1Gi", "size"), /invalid s: "512Mi" \(allowed: .*at least 1Gi/);
        assert.strictEqual(checkQuantity("s", "2Gi", "1Gi", "size"), "2Gi");
    });
    it("reads the major version from image tags", () => {
        assert.strictEqual(imageMajor("postgres:17.6-bookworm"), 17);
        assert.strictEqual(imageMajor("docker.io/library/postgres:16"), 16);
        assert.strictEqual(imageMajor("registry:5000/postgres:15.4@sha256:abc"), 15);
        assert.strictEqual(imageMajor("registry:5000/postgres"), undefined);
        assert.strictEqual(imageMajor("postgres:latest"), undefined);
    });
});

describe("component argument errors", () => {
    it("accepts the defaults", () => {
        const r = resolveArgs("db");
        assert.strictEqual(r.replicas, 2);
        assert.strictEqual(r.storageSize, "10Gi");
        assert.strictEqual(r.clusterName, "db");
    });
    it("rejects negative, fractional, too many and non-numeric replicas", () => {
        rejects({ replicas: -1 }, "invalid replicas: -1 (allowed: a whole number from 0 to 30)");
        rejects({ replicas: 1.5 }, "invalid replicas: 1.5 (allowed: a whole number from 0 to 30)");
        rejects({ replicas: 31 }, "invalid replicas: 31 (allowed: a whole number from 0 to 30)");
        rejects({ replicas: "two" }, 'invalid replicas: "two" (allowed: a whole number from 0 to 30)');
    });
    it("accepts zero replicas (a primary alone)", () => {
        assert.strictEqual(resolveArgs("db", { replicas: 0 }).replicas, 0);
    });
    it("rejects a storage size that is not a quantity, or too small", () => {
        rejects({ storageSize: "10GB" }, /^invalid storageSize: "10GB" \(allowed: .*quantity.*\)$/);
        rejects({ storageSize: "lots" }, /^invalid storageSize: "lots"/);
        rejects({ storageSize: "100Mi" }, /^invalid storageSize: "100Mi" \(allowed: .*at least 1Gi/);
    });
    it("rejects names that are not DNS-1123 labels", () => {
        rejects({ clusterName: "My_DB" }, /^invalid clusterName: "My_DB" \(allowed: a DNS-1123 label/);
        rejects({ namespace: "-ns" }, /^invalid namespace: "-ns"/);
        rejects({ clusterName: "x".repeat(53) }, /^invalid clusterName: "x{53}" \(allowed: .*52/);
        assert.throws(() => resolveArgs("Bad Name"), /^ArgError: invalid clusterName: "Bad Name"/);
    });
    it("rejects an unknown engine, naming the known ones", () => {
        rejects({ engine: "oracle" }, 'invalid engine: "oracle" (allowed: one of "postgresql")');
    });
    it("rejects unknown settings (a typo must not be ignored)", () => {
        rejects({ replica: 3 }, /^invalid replica: 3 \(allowed: one of the known settings: (.*, )?replicas, .*engine/);
    });
    it("rejects conflicting storage options", () => {
        rejects({ createStorageClass: true, storageClassName: "gp3" }, /^invalid storageClassName: "gp3" \(allowed: empty when createStorageClass is true/);
        rejects({ staticVolumes: {} }, /^invalid staticVolumes: \{\} \(allowed: static volumes only with a named class/);
        rejects({ createStorageClass: true }, /^invalid storageProvisioner: "kubernetes.io\/no-provisioner" \(allowed: a dynamic provisioner, or staticVolumes set/);
        rejects({ createStorageClass: true, staticVolumes: { type: "nfs" } }, 'invalid staticVolumes.type: "nfs" (allowed: "hostPath" or "local")');
        rejects({ createStorageClass: true, staticVolumes: { type: "local" } }, /^invalid staticVolumes.nodeNames: \[\] \(allowed: at least one node name/);
        rejects({ createStorageClass: true, staticVolumes: { basePath: "relative/dir" } }, /^invalid staticVolumes.basePath: "relative\/dir"/);
    });
    it("accepts the two podAntiAffinity values and rejects any other, naming both", () => {
        assert.strictEqual(resolveArgs("db").podAntiAffinity, "preferred");
        assert.strictEqual(resolveArgs("db", { podAntiAffinity: "required" }).podAntiAffinity, "required");
        rejects({ podAntiAffinity: "Required" }, 'invalid podAntiAffinity: "Required" (allowed: "preferred" or "required")');
        rejects({ podAntiAffinity: "zone" }, 'invalid podAntiAffinity: "zone" (allowed: "preferred" or "required")');
    });
    it("rejects bad resources and a limit below its request", () => {
        rejects({ resources: { memoryLimit: "lots" } }, /^invalid resources.memoryLimit: "lots"/);
        rejects({ resources: { memoryRequest: "2Gi", memoryLimit: "1Gi" } }, 'invalid resources.memoryLimit: "1Gi" (allowed: at least resources.memoryRequest (2Gi))');
        rejects({ resources: { cpuRequest: "2", cpuLimit: "500m" } }, 'invalid resources.cpuLimit: "500m" (allowed: at least resources.cpuRequest (2))');
    });
    it("rejects bad role names and a replication user equal to the app user", () => {
        rejects({ appUser: "Robert'); DROP" }, /^invalid appUser: "Robert'\); DROP"/);
        rejects({ replicationUser: "app" }, 'invalid replicationUser: "app" (allowed: a role other than appUser ("app"): each identity has its own password)');
    });
    it("rejects images of unsupported or unknown major versions", () => {
        rejects({ image: "postgres:latest" }, /^invalid image: "postgres:latest" \(allowed: a PostgreSQL image whose tag starts with a supported major version \(14, 15, 16, 17, 18\)/);
        rejects({ image: "postgres:12.1" }, /^invalid image: "postgres:12.1"/);
    });
    it("rejects passwordVersion with an existing Secret, and bad values of both", () => {
        rejects({ existingSecretName: "mine", passwordVersion: 2 }, /^invalid passwordVersion: 2 \(allowed: unset when existingSecretName is set/);
        rejects({ passwordVersion: 0 }, /^invalid passwordVersion: 0/);
        rejects({ existingSecretName: "Not_A_Name" }, /^invalid existingSecretName: "Not_A_Name"/);
    });
    it("rejects more synchronous replicas than replicas", () => {
        rejects({ replicas: 1, synchronousReplicas: 2 }, "invalid synchronousReplicas: 2 (allowed: at most replicas (1): commits would wait for replicas that do not exist)");
        rejects({ synchronousReplicas: -1 }, "invalid synchronousReplicas: -1 (allowed: a whole number from 0 to 30)");
        assert.strictEqual(resolveArgs("db", { replicas: 2, synchronousReplicas: 2 }).synchronousReplicas, 2);
    });
    it("rejects a primary ordinal outside the pods", () => {
        rejects({ replicas: 2, primaryOrdinal: 3 }, "invalid primaryOrdinal: 3 (allowed: a pod ordinal from 0 to replicas (2))");
        rejects({ primaryOrdinal: -1 }, "invalid primaryOrdinal: -1 (allowed: a pod ordinal from 0 to replicas (2))");
        assert.strictEqual(resolveArgs("db", { primaryOrdinal: 2 }).primaryOrdinal, 2);
    });
    it("rejects a non-boolean major-version opt-in", () => {
        rejects({ allowMajorVersionChange: "yes" }, 'invalid allowMajorVersionChange: "yes" (allowed: true or false)');
    });
    it("rejects bad server parameters and WAL sizes", () => {
        rejects({ parameters: { "work mem": "4MB" } }, /^invalid parameters.work mem/);
        rejects({ parameters: { work_mem: "4MB'; x" } }, /^invalid parameters.work_mem: "4MB'; x" \(allowed: a string without quotes or line breaks\)$/);
        rejects({ maxSlotWalKeepSize: "1Gi" }, 'invalid maxSlotWalKeepSize: "1Gi" (allowed: a PostgreSQL size in MB, GB or TB, such as "2GB")');
    });
    it("creates no resource when an argument is bad", async () => {
        const err = await renderComponent("db", { replicas: -1 }).then(
            () => assert.fail("the render should fail"),
            (e: Error) => e,
        );
        assert.match(err.message, /^invalid replicas: -1/);
        assert.deepStrictEqual(registeredBefore(err), []);
    });
});

describe("the object args' resolvers, called directly", () => {
    const key = (arg: string) => `replicated-db:${arg}`;
    it("fills in the static volumes' defaults and pins local volumes to nodes", () => {
        assert.deepStrictEqual(resolveStaticVolumes({}), { type: "hostPath", basePath: "/var/lib/replicated-db", nodeNames: [] });
        assert.deepStrictEqual(resolveStaticVolumes({ type: "local", basePath: "/mnt/db///", nodeNames: ["n1"] }), {
            type: "local",
            basePath: "/mnt/db",
            nodeNames: ["n1"],
        });
        assert.throws(() => resolveStaticVolumes({ type: "nfs" }, key), /^ArgError: invalid replicated-db:staticVolumes.type: "nfs" \(allowed: "hostPath" or "local"\)$/);
        assert.throws(() => resolveStaticVolumes({ basePath: "/" }), /^ArgError: invalid staticVolumes.basePath: "\/" \(allowed: an absolute directory path other than \/, without spaces\)$/);
        assert.throws(() => resolveStaticVolumes({ type: "local" }), /^ArgError: invalid staticVolumes.nodeNames: \[\] \(allowed: at least one node name/);
        assert.throws(() => resolveStaticVolumes({ nodeNames: ["Node_1"] }), /^ArgError: invalid staticVolumes.nodeNames\[0\]: "Node_1"/);
    });
    it("fills in the resources' defaults field by field and holds limits to requests", () => {
        assert.deepStrictEqual(resolveResources({ memoryLimit: "2Gi" }), { cpuRequest: "250m", memoryRequest: "512Mi", cpuLimit: "", memoryLimit: "2Gi" });
        assert.throws(() => resolveResources({ cpuRequest: "2", cpuLimit: "1" }), /^ArgError: invalid resources.cpuLimit: "1" \(allowed: at least resources.cpuRequest \(2\)\)$/);
        assert.throws(() => resolveResources({ memoryLimit: "256Mi" }, key), /^ArgError: invalid replicated-db:resources.memoryLimit: "256Mi" \(allowed: at least replicated-db:resources.memoryRequest \(512Mi\)\)$/);
        assert.throws(() => resolveResources({ memoryRequest: "1Mi" }), /^ArgError: invalid resources.memoryRequest: "1Mi" \(allowed: memory: .*at least 64Mi\)$/);
    });
    it("accepts server parameters as a map of plain strings only", () => {
        const given = { work_mem: "8MB", "auto_explain.log_min_duration": "250ms" };
        const out = resolveParameters(given);
        assert.deepStrictEqual(out, given);
        assert.notStrictEqual(out, given, "a copy, not the caller's object");
        assert.throws(() => resolveParameters(["work_mem"] as never), /^ArgError: invalid parameters: \["work_mem"\] \(allowed: a map of parameter names to string values\)$/);
        assert.throws(() => resolveParameters({ Work_Mem: "8MB" }), /^ArgError: invalid parameters.Work_Mem: "Work_Mem"/);
        assert.throws(() => resolveParameters({ work_mem: 8 as never }), /^ArgError: invalid parameters.work_mem: 8 \(allowed: a string without quotes or line breaks\)$/);
    });
});

describe("checkSettingsMap: a group of settings", () => {
    it("returns a map whose keys are all known", () => {
        const given = { enabled: true };
        assert.strictEqual(checkSettingsMap("tls", given, ["enabled", "source"], "TLS settings"), given);
    });

    it("refuses what is not a map, and an unknown key, naming the setting, its value and what is allowed", () => {
        for (const bad of [null, [], "on", 3]) {
            assert.throws(() => checkSettingsMap("tls", bad as object, ["enabled"], "TLS settings"), {
                message: `invalid tls: ${bad === null ? "null" : Array.isArray(bad) ? "[]" : JSON.stringify(bad)} (allowed: a map of TLS settings (see docs/configuration.md))`,
            });
        }
        assert.throws(() => checkSettingsMap("replicated-db:tls", { enable: true }, ["enabled", "source"], "TLS settings"), {
            message: "invalid replicated-db:tls.enable: true (allowed: one of the TLS settings: enabled, source)",
        });
    });
});

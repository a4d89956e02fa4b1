/**
 * The backup and restore args: every bad value is refused before anything is created, naming the setting,
 * the value and what is allowed; the good ones resolve to what the pods and CronJobs get.
 */
import * as assert from "assert";
import { ReplicatedDatabaseArgs } from "../../components/args";
import { checkCron } from "../../components/backup/cron";
import { parseTargetTime, resolveRestore } from "../../components/backup/resolve";
import { resolveArgs } from "../../components/resolve";
import { ArgError } from "../../components/validation";
import { configKey, resolveConfig } from "../../program/config";

const IMAGE = "registry.example/replicated-db-postgres:17.6";
const S3 = { enabled: true, s3Bucket: "backups", s3Endpoint: "s3.example.com", s3CredentialsSecret: "s3-creds" };

function refused(args: Record<string, unknown>, setting: string, value: RegExp | string, allowed: RegExp): void {
    assert.throws(
        () => resolveArgs("db", args as ReplicatedDatabaseArgs),
        (err: unknown) => {
            assert.ok(err instanceof ArgError, `expected ArgError, got ${err}`);
            assert.strictEqual(err.setting, setting);
            if (typeof value === "string") assert.strictEqual(err.value, value);
            else assert.match(String(err.value), value);
            assert.match(err.allowed, allowed);
            assert.doesNotMatch(err.message, /\n/, "one line");
            return true;
        },
    );
}

describe("backup args", () => {
    it("are off by default and need nothing then", () => {
        const r = resolveArgs("db", {});
        assert.strictEqual(r.backup.enabled, false);
        assert.strictEqual(r.backup.repositoryUsed, false);
        assert.strictEqual(r.backup.stanza, "default-db");
    });

    it("resolve an S3 repository with its defaults", () => {
        const r = resolveArgs("db", { image: IMAGE, namespace: "prod", storageSize: "40Gi", backup: S3 });
        assert.strictEqual(r.backup.stanza, "prod-db");
        assert.strictEqual(r.backup.repositoryType, "s3");
        assert.strictEqual(r.backup.archiveQueueMaxMB, 10240, "a quarter of storageSize");
        assert.strictEqual(r.backup.fullSchedule, "0 1 * * 0");
        assert.strictEqual(r.backup.diffSchedule, "0 1 * * 1-6");
    });

    it("refuse backups with an image that cannot have pgBackRest", () => {
        refused({ backup: S3 }, "image", "(unset)", /image with pgBackRest when backup.enabled is true.*images\/postgres\/Dockerfile/);
    });

    it("refuse an unknown repository type, a missing bucket, endpoint or credentials Secret", () => {
        refused({ image: IMAGE, backup: { ...S3, repositoryType: "gcs" } }, "backup.repositoryType", "gcs", /one of "s3", "volume"/);
        refused({ image: IMAGE, backup: { ...S3, s3Bucket: "" } }, "backup.s3Bucket", "", /bucket name.*required with backup.repositoryType "s3"/);
        refused({ image: IMAGE, backup: { ...S3, s3Endpoint: "https://s3.example.com" } }, "backup.s3Endpoint", "https://s3.example.com", /no scheme/);
        refused({ image: IMAGE, backup: { ...S3, s3CredentialsSecret: "" } }, "backup.s3CredentialsSecret", "", /keys access-key-id and secret-access-key/);
        refused({ image: IMAGE, backup: { ...S3, s3UriStyle: "virtual" } }, "backup.s3UriStyle", "virtual", /"host", "path"/);
        refused({ image: IMAGE, backup: { ...S3, bucket: "x" } }, "backup.bucket", "x", /one of the backup settings: enabled, repositoryType/);
    });

    it("need no S3 settings for a volume repository", () => {
        const r = resolveArgs("db", { image: IMAGE, backup: { enabled: true, repositoryType: "volume" } });
        assert.strictEqual(r.backup.repositoryType, "volume");
        refused({ image: IMAGE, backup: { enabled: true, repositoryType: "volume", volumeSize: "10" } }, "backup.volumeSize", "10", /at least 1Gi/);
    });

    it("refuse a retention of 0, a bad compression and a bad cron", () => {
        refused({ image: IMAGE, backup: { ...S3, retentionFull: 0 } }, "backup.retentionFull", /^0$/, /whole number from 1/);
        refused({ image: IMAGE, backup: { ...S3, compression: "xz" } }, "backup.compression", "xz", /"zst", "lz4", "gz", "bz2", "none"/);
        refused({ image: IMAGE, backup: { ...S3, fullSchedule: "0 25 * * *" } }, "backup.fullSchedule", "0 25 * * *", /hour "25": from 0 to 23/);
        refused({ image: IMAGE, backup: { ...S3, diffSchedule: "daily" } }, "backup.diffSchedule", "daily", /five fields/);
        assert.strictEqual(resolveArgs("db", { image: IMAGE, backup: { ...S3, diffSchedule: "" } }).backup.diffSchedule, "");
    });

    it("bound the archive queue by the volume", () => {
        refused({ image: IMAGE, storageSize: "10Gi", backup: { ...S3, archiveQueueMax: "6GB" } }, "backup.archiveQueueMax", "6GB", /at most half of storageSize \(10Gi\)/);
        refused({ image: IMAGE, backup: { ...S3, archiveQueueMax: "2G" } }, "backup.archiveQueueMax", "2G", /MB, GB or TB/);
        assert.strictEqual(resolveArgs("db", { image: IMAGE, backup: { ...S3, archiveQueueMax: "2GB" } }).backup.archiveQueueMaxMB, 2048);
    });

    it("name the stack config key in the program", () => {
        assert.throws(
            () => resolveConfig({ "replicated-db:image": IMAGE, "replicated-db:backup": JSON.stringify({ ...S3, retentionFull: 0 }) }),
            new RegExp(`invalid ${configKey("backup.retentionFull")}: 0`),
        );
    });
});

describe("cron schedules", () => {
    it("accept five fields, ranges, lists, steps, names and macros", () => {
        for (const ok of ["0 1 * * 0", "*/15 * * * *", "0 1 * * 1-6", "0 0,12 1 JAN-DEC MON", "@daily", "30 2 1 */2 7"]) {
            assert.strictEqual(typeof checkCron("s", ok), "string", ok);
        }
    });
    it("refuse the rest with the field and its range", () => {
        const cases: [string, RegExp][] = [
            ["60 * * * *", /minute "60": from 0 to 59/],
            ["* * 0 * *", /day of month "0": from 1 to 31/],
            ["* * * 13 *", /month "13": from 1 to 12/],
            ["* * * * 8", /day of week "8": from 0 to 7/],
            ["* * * * * *", /five fields/],
            ["*/0 * * * *", /step/],
            ["5-1 * * * *", /minute "5-1"/],
            ["@often", /five fields/],
        ];
        for (const [bad, why] of cases) assert.throws(() => checkCron("backup.fullSchedule", bad), why, bad);
    });
});

describe("restore args", () => {
    const now = Date.parse("2026-11-25T21:00:00Z");
    const cluster = { namespace: "default", clusterName: "db2" };
    it("restore nothing unless a source cluster is named", () => {
        assert.strictEqual(resolveRestore(undefined, cluster), undefined);
        assert.strictEqual(resolveRestore({}, cluster), undefined);
        assert.throws(() => resolveRestore({ targetType: "time" }, cluster), /invalid restore.fromClusterName: ""/);
    });
    it("name the source's stanza, and refuse the cluster itself", () => {
        assert.strictEqual(resolveRestore({ fromClusterName: "db" }, cluster)!.stanza, "default-db");
        assert.strictEqual(resolveRestore({ fromClusterName: "db", fromNamespace: "prod" }, cluster)!.stanza, "prod-db");
        assert.throws(() => resolveRestore({ fromClusterName: "db2" }, cluster), /invalid restore.fromClusterName: "db2" \(allowed: another cluster than this one: a restore creates a NEW cluster/);
    });
    it("accept targets of each type", () => {
        assert.strictEqual(resolveRestore({ fromClusterName: "db", targetType: "time", target: "2026-11-25 20:00:00+00" }, cluster, undefined, now)!.target, "2026-11-25 20:00:00+00");
        assert.ok(resolveRestore({ fromClusterName: "db", targetType: "time", target: "2026-11-25T20:00:00.5+05:30" }, cluster, undefined, now));
        assert.ok(resolveRestore({ fromClusterName: "db", targetType: "lsn", target: "0/3000060" }, cluster));
        assert.ok(resolveRestore({ fromClusterName: "db", targetType: "name", target: "before-migration" }, cluster));
    });
    it("refuse a target in the future or malformed", () => {
        const t = (targetType: string, target: string) => () => resolveRestore({ fromClusterName: "db", targetType, target }, cluster, undefined, now);
        assert.throws(t("time", "2026-11-25 22:00:00+00"), /invalid restore.target: "2026-11-25 22:00:00\+00" \(allowed: a time in the past \(now is 2026-11-25T21:00:00.000Z\)/);
        assert.throws(t("time", "2026-11-25 20:00:00"), /invalid restore.target: .*a timestamp with a time zone/);
        assert.throws(t("time", "2026-02-30 20:00:00Z"), /a timestamp with a time zone/);
        assert.throws(t("lsn", "3000060"), /an LSN such as "0\/3000060"/);
        assert.throws(t("name", "it's"), /restore point's name/);
        assert.throws(t("latest", "2026-11-25 20:00:00+00"), /"" with restore.targetType "latest"/);
        assert.throws(t("pitr", ""), /invalid restore.targetType: "pitr" \(allowed: one of "latest", "time", "lsn", "name"\)/);
    });
    it("parses time zones as PostgreSQL writes them", () => {
        assert.strictEqual(parseTargetTime("2026-11-25 20:00:00+00"), Date.parse("2026-11-25T20:00:00Z"));
        assert.strictEqual(parseTargetTime("2026-11-25 20:00:00+0130"), Date.parse("2026-11-25T18:30:00Z"));
        assert.strictEqual(parseTargetTime("2026-11-25 20:00:00-05"), Date.parse("2026-11-26T01:00:00Z"));
    });
    it("need the repository and an image with pgBackRest", () => {
        refused({ restore: { fromClusterName: "old" } }, "backup.s3Bucket", "", /required with backup.repositoryType "s3"/);
        refused({ restore: { fromClusterName: "old" }, backup: { repositoryType: "volume" } }, "image", "(unset)", /image with pgBackRest when restore is set/);
        const r = resolveArgs("db", { image: IMAGE, restore: { fromClusterName: "old" }, backup: { repositoryType: "volume", volumeClaimName: "old-backups" } });
        assert.strictEqual(r.backup.repositoryUsed, true);
        assert.strictEqual(r.backup.enabled, false);
        assert.strictEqual(r.restore!.stanza, "default-old");
    });
});

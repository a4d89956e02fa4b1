/**
 * The `backup` and `restore` args: defaults, checks and what follows from them (the stanza names, the archive
 * queue bound). Pure; resolveArgs calls these before any resource exists.
 */
import { BackupArgs, ResolvedBackup, ResolvedRestore, RestoreArgs } from "../args";
import { DEFAULTS } from "../argTable";
import {
    ArgError,
    SettingNamer,
    argName,
    checkBoolean,
    checkDnsLabel,
    checkDnsSubdomain,
    checkInteger,
    checkQuantity,
    checkSettingsMap,
    describe,
    parseQuantity,
} from "../validation";
import { checkCron } from "./cron";

export const REPOSITORY_TYPES = ["s3", "volume"];
export const S3_URI_STYLES = ["host", "path"];
export const COMPRESSION_TYPES = ["zst", "lz4", "gz", "bz2", "none"];
export const RESTORE_TARGET_TYPES = ["latest", "time", "lsn", "name"];
/** pgBackRest keeps at most this many full backups by count. */
const MAX_RETENTION_FULL = 9999999;

/** Where this cluster's (or another's) backups are kept in the repository. */
export function stanzaName(namespace: string, clusterName: string): string {
    return `${namespace}-${clusterName}`;
}

/**
 * Another cluster's stanza, named as `restore` and `standby`'s archive feed name it: that cluster's `clusterName`
 * (`clusterSetting`) and namespace (`namespaceSetting`; "" is this cluster's). Checks both names; the one
 * derivation of a source's stanza.
 */
export function sourceStanza(
    clusterSetting: string,
    fromClusterName: unknown,
    namespaceSetting: string,
    fromNamespace: unknown,
    cluster: Pick<Cluster, "namespace">,
): string {
    checkDnsLabel(clusterSetting, fromClusterName);
    if (fromNamespace !== "") checkDnsLabel(namespaceSetting, fromNamespace);
    return stanzaName((fromNamespace as string) || cluster.namespace, fromClusterName as string);
}

function oneOf(setting: string, value: unknown, allowed: string[]): string {
    if (typeof value !== "string" || !allowed.includes(value)) {
        throw new ArgError(setting, value, `one of ${allowed.map((a) => describe(a)).join(", ")}`);
    }
    return value;
}

function pick<T>(given: T | undefined, fallback: T): T {
    return given === undefined ? fallback : given;
}

interface Cluster {
    namespace: string;
    clusterName: string;
    storageSize: string;
}

/**
 * The backup settings with their defaults. The repository fields are checked when the repository is used:
 * backups on, or another cluster's stanza read from it (`readsSource`: a restore, or a standby's archive feed).
 */
export function resolveBackup(given: BackupArgs, cluster: Cluster, readsSource: boolean, setting: SettingNamer = argName): ResolvedBackup {
    const d = DEFAULTS.backup;
    checkSettingsMap(setting("backup"), given, Object.keys(d), "backup settings");
    const s = (key: keyof BackupArgs) => setting(`backup.${key}`);
    const enabled = checkBoolean(s("enabled"), pick(given.enabled, d.enabled));
    const repositoryUsed = enabled || readsSource;
    const repositoryType = oneOf(s("repositoryType"), pick(given.repositoryType, d.repositoryType), REPOSITORY_TYPES);
    const repositoryPath = pick(given.repositoryPath, d.repositoryPath);
    if (typeof repositoryPath !== "string" || !/^\/[A-Za-z0-9._\/-]*$/.test(repositoryPath) || /(^|\/)\.\.?(\/|$)/.test(repositoryPath)) {
        throw new ArgError(s("repositoryPath"), repositoryPath, "an absolute path of letters, digits, '.', '_', '-' and '/', without '.' or '..' segments");
    }
    const str = (key: keyof BackupArgs, fallback: string) => {
        const v = pick(given[key], fallback);
        if (typeof v !== "string") throw new ArgError(s(key), v, "a string");
        return v;
    };
    const s3Bucket = str("s3Bucket", d.s3Bucket);
    const s3Endpoint = str("s3Endpoint", d.s3Endpoint);
    const s3Region = str("s3Region", d.s3Region);
    const s3UriStyle = oneOf(s("s3UriStyle"), pick(given.s3UriStyle, d.s3UriStyle), S3_URI_STYLES);
    const s3VerifyTls = checkBoolean(s("s3VerifyTls"), pick(given.s3VerifyTls, d.s3VerifyTls));
    const s3CredentialsSecret = str("s3CredentialsSecret", d.s3CredentialsSecret);
    const volumeSize = checkQuantity(s("volumeSize"), pick(given.volumeSize, d.volumeSize), "1Gi", "the repository volume's size");
    const volumeStorageClassName = str("volumeStorageClassName", d.volumeStorageClassName);
    const volumeClaimName = str("volumeClaimName", d.volumeClaimName);
    if (volumeStorageClassName !== "") checkDnsSubdomain(s("volumeStorageClassName"), volumeStorageClassName);
    if (volumeClaimName !== "") checkDnsSubdomain(s("volumeClaimName"), volumeClaimName);
    if (repositoryUsed && repositoryType === "s3") {
        const why = `required with ${s("repositoryType")} "s3"`;
        if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(s3Bucket)) {
            throw new ArgError(s("s3Bucket"), s3Bucket, `a bucket name (3 to 63 lower-case letters, digits, '.' and '-'), ${why}`);
        }
        if (!/^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?(:[0-9]{1,5})?$/.test(s3Endpoint)) {
            throw new ArgError(s("s3Endpoint"), s3Endpoint, `a host name with an optional ":port", no scheme (pgBackRest always uses HTTPS), ${why}`);
        }
        if (!/^[a-z0-9-]{1,64}$/.test(s3Region)) {
            throw new ArgError(s("s3Region"), s3Region, "a region name such as \"eu-west-1\"");
        }
        if (s3CredentialsSecret === "") {
            throw new ArgError(s("s3CredentialsSecret"), s3CredentialsSecret, `an existing Secret with keys access-key-id and secret-access-key, ${why}`);
        }
        checkDnsSubdomain(s("s3CredentialsSecret"), s3CredentialsSecret);
    }
    const fullSchedule = checkCron(s("fullSchedule"), pick(given.fullSchedule, d.fullSchedule));
    const diffRaw = pick(given.diffSchedule, d.diffSchedule);
    const diffSchedule = diffRaw === "" ? "" : checkCron(s("diffSchedule"), diffRaw);
    const retentionFull = checkInteger(s("retentionFull"), pick(given.retentionFull, d.retentionFull), 1, MAX_RETENTION_FULL);
    const compression = oneOf(s("compression"), pick(given.compression, d.compression), COMPRESSION_TYPES);
    const encryptionSecret = str("encryptionSecret", d.encryptionSecret);
    if (encryptionSecret !== "") checkDnsSubdomain(s("encryptionSecret"), encryptionSecret);
    const archiveQueueMax = str("archiveQueueMax", d.archiveQueueMax);
    const volumeBytes = parseQuantity(cluster.storageSize)!;
    let archiveQueueMaxMB = Math.floor(volumeBytes / 4 / 2 ** 20);
    if (archiveQueueMax !== "") {
        const m = /^([1-9][0-9]*)(MB|GB|TB)$/.exec(archiveQueueMax);
        const mb = m ? Number(m[1]) * { MB: 1, GB: 1024, TB: 1024 ** 2 }[m[2] as "MB" | "GB" | "TB"] : undefined;
        if (mb === undefined || mb * 2 ** 20 > volumeBytes / 2) {
            throw new ArgError(
                s("archiveQueueMax"),
                archiveQueueMax,
                `a PostgreSQL size in MB, GB or TB of at most half of storageSize (${cluster.storageSize}), so that WAL waiting for the repository cannot fill the volume; "" for a quarter of it`,
            );
        }
        archiveQueueMaxMB = mb;
    }
    const archiveTimeoutSeconds = checkInteger(s("archiveTimeoutSeconds"), pick(given.archiveTimeoutSeconds, d.archiveTimeoutSeconds), 10, 3600);
    const jobDeadlineSeconds = checkInteger(s("jobDeadlineSeconds"), pick(given.jobDeadlineSeconds, d.jobDeadlineSeconds), 600, 7 * 86400);
    const replicasFromRepository = checkBoolean(s("replicasFromRepository"), pick(given.replicasFromRepository, d.replicasFromRepository));
    return {
        enabled, repositoryType, repositoryPath, s3Bucket, s3Endpoint, s3Region, s3UriStyle, s3VerifyTls, s3CredentialsSecret,
        volumeSize, volumeStorageClassName, volumeClaimName, fullSchedule, diffSchedule, retentionFull, compression,
        encryptionSecret, archiveQueueMax, archiveTimeoutSeconds, jobDeadlineSeconds, replicasFromRepository,
        stanza: stanzaName(cluster.namespace, cluster.clusterName),
        archiveQueueMaxMB,
        repositoryUsed,
    };
}

const TIME = /^([0-9]{4}-[0-9]{2}-[0-9]{2})[ T]([0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]{1,6})?)(Z|[+-][0-9]{2}(?::?[0-9]{2})?)$/;

/** Epoch milliseconds of a timestamp with an explicit time zone, or undefined when it is not one. */
export function parseTargetTime(text: string): number | undefined {
    const m = TIME.exec(text);
    if (!m) return undefined;
    let zone = m[3];
    if (zone !== "Z") {
        const digits = zone.slice(1).replace(":", "");
        zone = `${zone[0]}${digits.slice(0, 2)}:${digits.slice(2) || "00"}`;
    }
    const ms = Date.parse(`${m[1]}T${m[2]}${zone}`);
    // Date.parse rolls "02-30" over to March: a day that does not exist is a typo.
    return Number.isNaN(ms) || !dayExists(m[1]) ? undefined : ms;
}

function dayExists(day: string): boolean {
    const [y, mo, d] = day.split("-").map(Number);
    const date = new Date(Date.UTC(y, mo - 1, d));
    return date.getUTCFullYear() === y && date.getUTCMonth() === mo - 1 && date.getUTCDate() === d;
}

/**
 * The restore, or undefined when `fromClusterName` is empty. `now` (epoch ms) is when the args are read: a
 * target time after it cannot be reached yet.
 */
export function resolveRestore(
    given: RestoreArgs | undefined,
    cluster: Pick<Cluster, "namespace" | "clusterName">,
    setting: SettingNamer = argName,
    now: number = Date.now(),
): ResolvedRestore | undefined {
    if (given === undefined) return undefined;
    const d = DEFAULTS.restore;
    checkSettingsMap(setting("restore"), given, Object.keys(d), "restore settings");
    const s = (key: keyof RestoreArgs) => setting(`restore.${key}`);
    const fromClusterName = pick(given.fromClusterName, d.fromClusterName);
    if (fromClusterName === "") {
        if (Object.keys(given).some((k) => k !== "fromClusterName")) {
            throw new ArgError(s("fromClusterName"), fromClusterName, "the name of the cluster whose backups to restore, when any other restore setting is set");
        }
        return undefined;
    }
    const fromNamespace = pick(given.fromNamespace, d.fromNamespace);
    const stanza = sourceStanza(s("fromClusterName"), fromClusterName, s("fromNamespace"), fromNamespace, cluster);
    if (stanza === stanzaName(cluster.namespace, cluster.clusterName)) {
        throw new ArgError(
            s("fromClusterName"),
            fromClusterName,
            "another cluster than this one: a restore creates a NEW cluster and never overwrites a running one's data or archive (give this one another clusterName)",
        );
    }
    const targetType = oneOf(s("targetType"), pick(given.targetType, d.targetType), RESTORE_TARGET_TYPES);
    const target = pick(given.target, d.target);
    if (typeof target !== "string") throw new ArgError(s("target"), target, "a string");
    switch (targetType) {
        case "latest":
            if (target !== "") throw new ArgError(s("target"), target, `"" with ${s("targetType")} "latest" (the end of the archive)`);
            break;
        case "time": {
            const ms = parseTargetTime(target);
            if (ms === undefined) {
                throw new ArgError(s("target"), target, 'a timestamp with a time zone, such as "2026-11-25 21:00:00+00" or "2026-11-25T21:00:00Z"');
            }
            if (ms > now) {
                throw new ArgError(s("target"), target, `a time in the past (now is ${new Date(now).toISOString()}): the archive cannot reach a time that has not come`);
            }
            break;
        }
        case "lsn":
            if (!/^[0-9A-Fa-f]{1,8}\/[0-9A-Fa-f]{1,8}$/.test(target)) {
                throw new ArgError(s("target"), target, 'an LSN such as "0/3000060"');
            }
            break;
        case "name":
            if (!/^[A-Za-z0-9_.:-]{1,63}$/.test(target)) {
                throw new ArgError(s("target"), target, "a restore point's name (pg_create_restore_point): 1 to 63 letters, digits, '_', '.', ':' or '-'");
            }
            break;
    }
    return { fromClusterName, fromNamespace, targetType, target, stanza };
}

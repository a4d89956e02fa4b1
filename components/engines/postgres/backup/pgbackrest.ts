/**
 * Backups with pgBackRest: its configuration file, the environment that points it at this cluster's stanza
 * (credentials from Secrets, never in the file), the server's archive settings, and the scripts shipped for
 * it. The plumbing asks for these through the engine's `backup` member and names no tool itself.
 */
import { ResolvedArgs } from "../../../args";
import { BACKUP_ROLE } from "../../../naming";
import { BackupSupport, EngineContext, EnvVar } from "../../../core/engine";
import { PORT } from "../connection";
import { PGDATA, SOCKET_DIR } from "../pod";
import * as path from "path";
import { shellScripts } from "../../../core/scripts";

export const PGBACKREST_CONFIG_FILE = "pgbackrest.conf";
/** Where a "volume" repository's claim is mounted in the database container. */
export const REPOSITORY_MOUNT = "/var/lib/pgbackrest";
/** The keys the component reads from the user's Secrets. */
export const S3_SECRET_KEYS = { accessKeyId: "access-key-id", secretAccessKey: "secret-access-key" } as const;
export const ENCRYPTION_SECRET_KEY = "repository-key";

/** The server settings that archive every finished WAL segment through pgBackRest (backups on). */
export function archiveSettings(args: ResolvedArgs): Record<string, string> {
    if (!args.backup.enabled) return {};
    return {
        archive_mode: "on",
        // The stanza and the configuration file come from the environment (PGBACKREST_STANZA, PGBACKREST_CONFIG).
        archive_command: "pgbackrest archive-push %p",
        archive_timeout: `${args.backup.archiveTimeoutSeconds}s`,
    };
}

/**
 * Recovery settings: a standby that falls behind its slot's WAL, or a replica started on an old volume, fetches
 * what it lacks from the archive. Patroni takes these under `recovery_conf`, the manual mode in postgresql.conf.
 */
export function recoverySettings(args: ResolvedArgs): Record<string, string> {
    if (!args.backup.enabled) return {};
    return { restore_command: 'pgbackrest archive-get %f "%p"' };
}

/** The repository's directory as pgBackRest sees it. */
export function repositoryPath(args: ResolvedArgs): string {
    const b = args.backup;
    return b.repositoryType === "volume" ? `${REPOSITORY_MOUNT}${b.repositoryPath === "/" ? "" : b.repositoryPath}` : b.repositoryPath;
}

/**
 * A standby cluster's restore_command with the archive feed: WAL from the SOURCE's stanza, through
 * archive-get.sh (which only reads the repository, and notes when the repository last answered).
 */
export function standbyRestoreCommand(scriptsDir: string): string {
    return `/bin/bash ${scriptsDir}/archive-get.sh %f "%p"`;
}

/** Patroni's name for the replica method that restores this cluster's own latest backup (replicasFromRepository). */
export const REPOSITORY_REPLICA_METHOD = "repository";

/**
 * The command that makes a new replica's data directory from this cluster's latest backup in the repository, left
 * a standby that has replayed nothing yet (restore-standby.sh, which only reads the repository); nothing when the
 * replicas clone the primary. The manual supervisor runs the same script (replica-source.sh).
 */
export function repositoryReplicaCommand(args: ResolvedArgs, scriptsDir: string): string | undefined {
    const b = args.backup;
    if (!b.enabled || !b.replicasFromRepository) return undefined;
    return `/bin/bash ${scriptsDir}/restore-standby.sh --stanza=${b.stanza}`;
}

/** pgbackrest.conf: the repository and a section for this cluster's stanza (and the restore's or the archive feed's source). */
export function pgbackrestConf(args: ResolvedArgs): string {
    const b = args.backup;
    const global: Record<string, string> = { "repo1-type": b.repositoryType === "s3" ? "s3" : "posix", "repo1-path": repositoryPath(args) };
    if (b.repositoryType === "s3") {
        const [host, port] = b.s3Endpoint.split(":");
        Object.assign(global, {
            "repo1-s3-bucket": b.s3Bucket,
            "repo1-s3-endpoint": host,
            "repo1-s3-region": b.s3Region,
            "repo1-s3-uri-style": b.s3UriStyle,
            ...(port ? { "repo1-storage-port": port } : {}),
            "repo1-storage-verify-tls": b.s3VerifyTls ? "y" : "n",
        });
    }
    Object.assign(global, {
        "repo1-retention-full-type": "count",
        "repo1-retention-full": String(b.retentionFull),
        ...(b.encryptionSecret ? { "repo1-cipher-type": "aes-256-cbc" } : {}),
        "compress-type": b.compression,
        // Beyond this, WAL waiting for an unreachable repository is dropped from the archive rather than
        // filling the volume and stopping the primary (README, "Backups and point-in-time recovery").
        "archive-push-queue-max": `${b.archiveQueueMaxMB}MB`,
        // pgBackRest retries a refused or silent repository for about 8 x io-timeout before one push fails
        // (measured with 2.45): 20 s instead of its 60 s makes a failed push show within about 3 minutes, and
        // bounds how long WAL can grow past archive-push-queue-max before the next push drops it. It is a
        // timeout without progress, not on a whole transfer, so large backups are not cut short.
        "io-timeout": "20",
        // A backup starts with an immediate checkpoint instead of waiting for the next spread one.
        "start-fast": "y",
        "process-max": "2",
        // To the container log only: the root file system is read-only, and logs belong to the runtime.
        "log-level-console": "info",
        "log-level-stderr": "off",
        "log-level-file": "off",
        // Both on the pod's scratch volume: the root file system is read-only, and a restore clears the spool.
        "lock-path": "/tmp/pgbackrest",
        "spool-path": "/tmp/pgbackrest-spool",
    });
    const pg = { "pg1-path": PGDATA, "pg1-socket-path": SOCKET_DIR, "pg1-port": String(PORT), "pg1-user": "postgres" };
    const section = (name: string, values: Record<string, string>) => [`[${name}]`, ...Object.entries(values).map(([k, v]) => `${k}=${v}`), ""];
    return [
        "# Rendered by the replicated-db component. Credentials come from the environment (Secrets), never from here.",
        ...section("global", global),
        ...section(b.stanza, pg),
        ...(args.restore ? section(args.restore.stanza, pg) : []),
        ...(args.standby?.archiveStanza ? section(args.standby.archiveStanza, pg) : []),
    ].join("\n");
}

const secretRef = (name: string, secret: string, key: string): EnvVar => ({ name, valueFrom: { secretKeyRef: { name: secret, key } } });

/** The database container's environment for pgBackRest and the backup scripts (docs/pod-contract.md, "Backups"). */
export function backupEnv(ctx: EngineContext): EnvVar[] {
    const { args, paths } = ctx;
    const b = args.backup;
    if (!b.repositoryUsed) return [];
    const r = args.restore;
    return [
        { name: "PGBACKREST_CONFIG", value: `${paths.config}/${PGBACKREST_CONFIG_FILE}` },
        { name: "PGBACKREST_STANZA", value: b.stanza },
        ...(b.repositoryType === "s3"
            ? [
                  secretRef("PGBACKREST_REPO1_S3_KEY", b.s3CredentialsSecret, S3_SECRET_KEYS.accessKeyId),
                  secretRef("PGBACKREST_REPO1_S3_KEY_SECRET", b.s3CredentialsSecret, S3_SECRET_KEYS.secretAccessKey),
              ]
            : []),
        ...(b.encryptionSecret ? [secretRef("PGBACKREST_REPO1_CIPHER_PASS", b.encryptionSecret, ENCRYPTION_SECRET_KEY)] : []),
        { name: "RDB_BACKUP", value: b.enabled ? "on" : "off" },
        // The role the backup Jobs ask for backups as (lib.sh backup_sql; backup-requests.sh): only with backups on.
        ...(b.enabled ? [{ name: "RDB_BACKUP_USER", value: BACKUP_ROLE }] : []),
        // A new replica restores the latest backup of this cluster's stanza before it clones the primary (replica-source.sh).
        ...(b.enabled ? [{ name: "RDB_REPLICAS_FROM_REPOSITORY", value: b.replicasFromRepository ? "on" : "off" }] : []),
        { name: "RDB_RESTORE_FROM", value: r?.stanza ?? "" },
        { name: "RDB_RESTORE_TYPE", value: r?.targetType ?? "" },
        { name: "RDB_RESTORE_TARGET", value: r?.target ?? "" },
        // Not switched off by a promotion (that would roll the pods): the scripts use it only while the live
        // standby-hosts names a source.
        { name: "RDB_STANDBY_ARCHIVE_FROM", value: args.standby?.archiveStanza ?? "" },
    ];
}

/** The repository as the stack outputs show it: where the backups go, without credentials. */
export function repositoryUrl(args: ResolvedArgs, claimName: string): string {
    const b = args.backup;
    if (!b.enabled) return "";
    return b.repositoryType === "s3" ? `s3://${b.s3Bucket}${b.repositoryPath} (endpoint ${b.s3Endpoint})` : `pvc://${claimName}${b.repositoryPath}`;
}

export const backup: BackupSupport = {
    repositoryMountPath: REPOSITORY_MOUNT,
    configFiles: (ctx) => ({ [PGBACKREST_CONFIG_FILE]: pgbackrestConf(ctx.args) }),
    env: backupEnv,
    scripts: () => shellScripts(path.join(__dirname, "scripts")),
    jobCommand: (ctx, type) => ["/bin/bash", `${ctx.paths.scripts}/backup-job.sh`, type],
    repositoryUrl,
};

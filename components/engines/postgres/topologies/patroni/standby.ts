/**
 * A standby cluster with `failover: "patroni"` (README, "Disaster recovery: standby cluster"): Patroni's own
 * standby cluster, its `standby_cluster` dynamic setting. Its leader (the "standby leader") clones the source
 * with pg_basebackup and streams from it; the other members cascade from the standby leader.
 *
 * The setting lives in one live file of the config ConfigMap (PATRONI_STANDBY_FILE, outside the checksum that
 * rolls the pods), from which patroni-standby.sh adds it to bootstrap.dcs at start (Patroni takes bootstrap.dcs
 * only when the cluster is first created) and, on the leader, keeps the store equal to it on a running cluster
 * (`patronictl edit-config --apply`): a changed source and a promotion (null) are config changes, not rollouts.
 */
import { ResolvedArgs } from "../../../../args";
import { standbyRestoreCommand } from "../../backup/pgbackrest";

/** The ca bundle a standby cluster's replication connections trust, in pod memory (written by patroni.sh). */
export const CA_BUNDLE_FILE = "ca-bundle.crt";

/**
 * The live file (in the config ConfigMap, outside the checksum that rolls the pods) holding the standby_cluster
 * setting that patroni-standby.sh keeps in Patroni's store on a running cluster: the rendered one while a standby
 * (a changed source reaches Patroni), null once promoted (Patroni promotes its standby leader).
 */
export const PATRONI_STANDBY_FILE = "patroni-standby.json";

/**
 * Every standby_cluster key the component may render: Patroni's `edit-config --apply` merges into the stored
 * setting, so a key no longer rendered is written as null (removed) rather than left behind.
 */
export const PATRONI_STANDBY_KEYS = ["host", "port", "primary_slot_name", "create_replica_methods", "restore_command", "archive_cleanup_command", "recovery_min_apply_delay"];

/** The replica method that makes the standby leader from the source's latest backup in the repository. */
export const ARCHIVE_REPLICA_METHOD = "pgbackrest";

/**
 * The `standby_cluster` setting, or nothing. No slot on the source (as in the manual mode). With the
 * archive feed (`standby.archiveFromClusterName`): Patroni's own keys for it, a `restore_command` that reads the
 * source's stanza (archive-get.sh: pgBackRest's archive-get, which only reads the repository, as in the manual
 * mode), with which the standby leader replays the archive whenever streaming fails, and the pgbackrest replica
 * method before basebackup, so that the standby leader is made from the source's latest backup when the
 * repository has one (basebackup otherwise).
 */
export function patroniStandbyCluster(args: ResolvedArgs, scriptsDir: string): Record<string, unknown> {
    const sb = args.standby;
    if (!sb?.enabled) return {};
    const archive = sb.archiveStanza !== "";
    return {
        standby_cluster: {
            host: sb.sourceHosts.join(","),
            port: sb.sourcePort,
            create_replica_methods: archive ? [ARCHIVE_REPLICA_METHOD, "basebackup"] : ["basebackup"],
            ...(archive ? { restore_command: standbyRestoreCommand(scriptsDir) } : {}),
        },
    };
}

/**
 * The pgbackrest replica method's own settings (Patroni reads them under `postgresql.<method>`): restore-standby.sh
 * with Patroni's parameters (it takes --datadir). With the archive feed only; rendered whether or not `enabled`
 * is true, so that a promotion changes nothing in patroni.yml.
 */
export function patroniArchiveReplicaMethod(args: ResolvedArgs, scriptsDir: string): Record<string, unknown> {
    if (!args.standby?.archiveStanza) return {};
    return { [ARCHIVE_REPLICA_METHOD]: { command: `/bin/bash ${scriptsDir}/restore-standby.sh`, keep_data: false, no_leader: true } };
}

/**
 * Patroni dials the source with its replication settings (sslrootcert among them): a standby cluster with TLS
 * trusts a bundle of its own CA and the source's, which patroni.sh writes from the mounted files, so that the
 * same settings verify the source (for the standby leader) and the cluster's own pods (for the others).
 */
export function patroniReplicationCa(args: ResolvedArgs, runDir: string, ownCa: string): string {
    return args.standby && args.standby.sourceCaCertificate !== "" ? `${runDir}/${CA_BUNDLE_FILE}` : ownCa;
}

/** The live file's content with `failover: "patroni"` and the `standby` arg; nothing otherwise. */
export function patroniStandbyFile(args: ResolvedArgs, scriptsDir: string): Record<string, string> {
    if (!args.standby) return {};
    const rendered = patroniStandbyCluster(args, scriptsDir).standby_cluster as Record<string, unknown> | undefined;
    const standby = rendered ? Object.fromEntries(PATRONI_STANDBY_KEYS.map((k) => [k, rendered[k] ?? null])) : null;
    return { [PATRONI_STANDBY_FILE]: JSON.stringify({ standby_cluster: standby }, null, 2) + "\n" };
}

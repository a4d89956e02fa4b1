/**
 * A standby cluster with `failover: "patroni"` (README, "Disaster recovery: standby cluster"): Patroni's own
 * standby cluster, its `standby_cluster` dynamic setting. Its leader (the "standby leader") clones the source
 * with pg_basebackup and streams from it; the other members cascade from the standby leader.
 *
 * Patroni applies `bootstrap.dcs` only when the cluster is first created: on a running cluster the
 * standby_cluster setting changes through Patroni's REST API (PATCH /config), which is how a promotion is
 * done in this mode (README).
 */
import { ResolvedArgs } from "../args";
import { standbyRestoreCommand } from "../engines/postgres/backup";

/** The ca bundle a standby cluster's replication connections trust, in pod memory (written by patroni.sh). */
export const CA_BUNDLE_FILE = "ca-bundle.crt";

/** The replica method that makes the standby leader from the source's latest backup in the repository. */
export const ARCHIVE_REPLICA_METHOD = "pgbackrest";

/**
 * `standby_cluster` for bootstrap.dcs, or nothing. No slot on the source (as in the manual mode). With the
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

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

/** The ca bundle a standby cluster's replication connections trust, in pod memory (written by patroni.sh). */
export const CA_BUNDLE_FILE = "ca-bundle.crt";

/** `standby_cluster` for bootstrap.dcs, or nothing. No slot on the source (as in the manual mode). */
export function patroniStandbyCluster(args: ResolvedArgs): Record<string, unknown> {
    const sb = args.standby;
    if (!sb?.enabled) return {};
    return {
        standby_cluster: {
            host: sb.sourceHosts.join(","),
            port: sb.sourcePort,
            create_replica_methods: ["basebackup"],
        },
    };
}

/**
 * Patroni dials the source with its replication settings (sslrootcert among them): a standby cluster with TLS
 * trusts a bundle of its own CA and the source's, which patroni.sh writes from the mounted files, so that the
 * same settings verify the source (for the standby leader) and the cluster's own pods (for the others).
 */
export function patroniReplicationCa(args: ResolvedArgs, runDir: string, ownCa: string): string {
    return args.standby && args.standby.sourceCaCertificate !== "" ? `${runDir}/${CA_BUNDLE_FILE}` : ownCa;
}

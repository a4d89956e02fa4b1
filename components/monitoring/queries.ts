/**
 * The exporter's custom queries (postgres_exporter's `--extend.query-path` file): what matters for a replicated
 * cluster, readable by a member of `pg_monitor`. Every row carries the cluster's name and namespace as labels
 * (`rdb_cluster`, `rdb_namespace`), so that the alert rules and the dashboard select this cluster's series
 * whatever labels the scrape configuration adds. Rendered as JSON, which is YAML.
 *
 * A metric is `<query name>_<column>` (postgres_exporter's naming). Queries whose rows only exist on the primary
 * (or only on a replica) filter by `pg_is_in_recovery()`, so a series' presence says the role too.
 */
import { ResolvedArgs } from "../args";

export type Usage = "LABEL" | "GAUGE" | "COUNTER";

export interface Column {
    name: string;
    usage: Usage;
    description: string;
}

export interface Query {
    sql: string;
    columns: Column[];
}

const label = (name: string, description: string): Column => ({ name, usage: "LABEL", description });
const gauge = (name: string, description: string): Column => ({ name, usage: "GAUGE", description });
const counter = (name: string, description: string): Column => ({ name, usage: "COUNTER", description });

/** The labels every query's rows carry. */
export const CLUSTER_LABEL = "rdb_cluster";
export const NAMESPACE_LABEL = "rdb_namespace";

/** The LSN the server has: written on the primary, replayed on a standby (pg_current_wal_lsn() fails there). */
const POSITION = "CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn() ELSE pg_current_wal_lsn() END";

/** The queries by name (the metric prefix), for this cluster. */
export function exporterQueries(args: ResolvedArgs): Record<string, Query> {
    // clusterName and namespace are DNS labels: no quote can reach the SQL.
    const ids = `'${args.clusterName}' AS ${CLUSTER_LABEL}, '${args.namespace}' AS ${NAMESPACE_LABEL}`;
    const idColumns = [label(CLUSTER_LABEL, "the cluster (StatefulSet) name"), label(NAMESPACE_LABEL, "the cluster's namespace")];
    const queries: Record<string, Query> = {
        rdb_server: {
            sql: `SELECT ${ids},
  CASE WHEN pg_is_in_recovery() THEN 0 ELSE 1 END AS is_primary,
  CASE WHEN pg_is_in_recovery()
       THEN coalesce((SELECT received_tli FROM pg_stat_wal_receiver), (SELECT timeline_id FROM pg_control_checkpoint()))
       ELSE ('x' || substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8))::bit(32)::bigint END AS timeline,
  coalesce(pg_wal_lsn_diff(${POSITION}, '0/0'), 0) AS wal_position_bytes,
  (SELECT count(*) FROM pg_stat_replication WHERE state = 'streaming') AS streaming_replicas`,
            columns: [
                ...idColumns,
                gauge("is_primary", "1 when the server takes writes (not in recovery), 0 on a standby"),
                gauge("timeline", "the timeline the server writes (primary) or receives (standby)"),
                counter("wal_position_bytes", "the WAL position written (primary) or replayed (standby), in bytes"),
                gauge("streaming_replicas", "walsenders in state streaming (on the primary: the replicas that stream from it)"),
            ],
        },
        rdb_activity: {
            sql: `SELECT ${ids},
  (SELECT sum(xact_commit) FROM pg_stat_database) AS xact_commit,
  (SELECT sum(xact_rollback) FROM pg_stat_database) AS xact_rollback,
  (SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend') AS connections,
  current_setting('max_connections')::int AS max_connections`,
            columns: [
                ...idColumns,
                counter("xact_commit", "transactions committed, all databases"),
                counter("xact_rollback", "transactions rolled back, all databases"),
                gauge("connections", "client connections"),
                gauge("max_connections", "the server's max_connections"),
            ],
        },
        rdb_checksum: {
            sql: `SELECT ${ids},
  (SELECT coalesce(sum(checksum_failures), 0) FROM pg_stat_database) AS failures,
  CASE WHEN current_setting('data_checksums') = 'on' THEN 1 ELSE 0 END AS enabled`,
            columns: [
                ...idColumns,
                counter("failures", "data checksum failures detected since the statistics were reset, all databases"),
                gauge("enabled", "1 when the data directory has data checksums"),
            ],
        },
        rdb_replication: {
            // One row per replica (application_name is its slot name); a clone's pg_basebackup walsenders are not replicas.
            sql: `SELECT DISTINCT ON (application_name) ${ids}, application_name AS replica,
  CASE WHEN state = 'streaming' THEN 1 ELSE 0 END AS streaming,
  CASE WHEN sync_state IN ('sync', 'quorum') THEN 1 ELSE 0 END AS synchronous,
  coalesce(pg_wal_lsn_diff(pg_current_wal_lsn(), write_lsn), 0) AS receive_lag_bytes,
  coalesce(pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn), 0) AS replay_lag_bytes,
  coalesce(extract(epoch FROM write_lag), 0) AS receive_lag_seconds,
  coalesce(extract(epoch FROM replay_lag), 0) AS replay_lag_seconds
FROM pg_stat_replication
WHERE NOT pg_is_in_recovery() AND application_name <> 'pg_basebackup'
ORDER BY application_name, state = 'streaming' DESC`,
            columns: [
                ...idColumns,
                label("replica", "the replica's application_name (its slot name)"),
                gauge("streaming", "1 while the replica's walsender is streaming"),
                gauge("synchronous", "1 when the replica counts for synchronous commit"),
                gauge("receive_lag_bytes", "WAL the primary has written that the replica has not received"),
                gauge("replay_lag_bytes", "WAL the primary has written that the replica has not replayed"),
                gauge("receive_lag_seconds", "time until the replica reported the latest WAL received (write_lag; 0 when idle)"),
                gauge("replay_lag_seconds", "time until the replica reported the latest WAL replayed (replay_lag; 0 when idle)"),
            ],
        },
        rdb_standby: {
            // Only in recovery: one row on a standby, none on the primary.
            sql: `SELECT ${ids},
  CASE WHEN r.status = 'streaming' THEN 1 ELSE 0 END AS streaming,
  coalesce(extract(epoch FROM now() - r.last_msg_receipt_time), -1) AS last_message_age_seconds,
  coalesce(pg_wal_lsn_diff(pg_last_wal_receive_lsn(), pg_last_wal_replay_lsn()), 0) AS replay_delay_bytes,
  CASE WHEN pg_last_wal_receive_lsn() IS NULL OR pg_last_wal_receive_lsn() <= pg_last_wal_replay_lsn() THEN 0
       ELSE coalesce(extract(epoch FROM now() - pg_last_xact_replay_timestamp()), 0) END AS replay_delay_seconds
FROM (SELECT 1) AS one LEFT JOIN pg_stat_wal_receiver AS r ON true
WHERE pg_is_in_recovery()`,
            columns: [
                ...idColumns,
                gauge("streaming", "1 while the standby's WAL receiver streams from its upstream"),
                gauge("last_message_age_seconds", "seconds since the WAL receiver last heard from its upstream (-1: no receiver)"),
                gauge("replay_delay_bytes", "WAL received but not yet replayed, in bytes"),
                gauge("replay_delay_seconds", "age of the last replayed transaction while WAL waits to be replayed (0 when caught up)"),
            ],
        },
        rdb_slot: {
            sql: `SELECT ${ids}, slot_name AS slot,
  CASE WHEN active THEN 1 ELSE 0 END AS active,
  coalesce(pg_wal_lsn_diff(${POSITION}, restart_lsn), 0) AS retained_bytes,
  (SELECT CASE WHEN setting::bigint < 0 THEN -1 ELSE setting::bigint * 1048576 END FROM pg_settings WHERE name = 'max_slot_wal_keep_size') AS max_retained_bytes,
  CASE WHEN wal_status = 'lost' THEN 1 ELSE 0 END AS lost
FROM pg_replication_slots WHERE slot_type = 'physical'`,
            columns: [
                ...idColumns,
                label("slot", "the physical replication slot"),
                gauge("active", "1 while a replica streams through the slot"),
                gauge("retained_bytes", "WAL the slot holds back on this server, in bytes"),
                gauge("max_retained_bytes", "max_slot_wal_keep_size in bytes (-1: unlimited)"),
                gauge("lost", "1 when the slot's WAL is gone (its replica must re-clone)"),
            ],
        },
    };
    if (args.backup.enabled) {
        queries.rdb_archiver = {
            sql: `SELECT ${ids}, archived_count, failed_count,
  coalesce(extract(epoch FROM last_archived_time), 0) AS last_archived_time_seconds,
  coalesce(extract(epoch FROM last_failed_time), 0) AS last_failed_time_seconds,
  CASE WHEN last_failed_time IS NOT NULL AND last_failed_time > coalesce(last_archived_time, '-infinity') THEN 1 ELSE 0 END AS failing
FROM pg_stat_archiver WHERE NOT pg_is_in_recovery()`,
            columns: [
                ...idColumns,
                counter("archived_count", "WAL files archived"),
                counter("failed_count", "failed attempts to archive a WAL file"),
                gauge("last_archived_time_seconds", "when the last WAL file was archived (epoch seconds; 0: never)"),
                gauge("last_failed_time_seconds", "when archiving last failed (epoch seconds; 0: never)"),
                gauge("failing", "1 when the last attempt to archive failed"),
            ],
        };
    }
    return queries;
}

/** The metric names the queries produce (not their labels). */
export function exporterMetricNames(args: ResolvedArgs): string[] {
    return Object.entries(exporterQueries(args)).flatMap(([name, q]) => q.columns.filter((c) => c.usage !== "LABEL").map((c) => `${name}_${c.name}`));
}

/** The `--extend.query-path` file, as postgres_exporter reads it. */
export function queriesFile(args: ResolvedArgs): string {
    const file = Object.fromEntries(
        Object.entries(exporterQueries(args)).map(([name, q]) => [
            name,
            { query: q.sql, metrics: q.columns.map((c) => ({ [c.name]: { usage: c.usage, description: c.description } })) },
        ]),
    );
    return JSON.stringify(file, null, 2) + "\n";
}

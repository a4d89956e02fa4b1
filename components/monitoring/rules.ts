/**
 * The alert rules, as one Prometheus rule group: the PrometheusRule's `spec.groups` with the Prometheus Operator,
 * and a plain rules file (JSON, which is YAML) for any other Prometheus and for `promtool test rules`.
 *
 * Annotations use `{{ $labels.<name> }}` and `{{ $value }}` only (no humanize functions), so that the tests can
 * state the exact text an alert carries.
 *
 * They select this cluster's series by the labels every exporter query carries (`rdb_cluster`, `rdb_namespace`,
 * components/monitoring/queries.ts), the data volumes by the kubelet's `namespace` and `persistentvolumeclaim`
 * labels, and the backup CronJobs by kube-state-metrics' `namespace` and `cronjob` labels.
 */
import { ResolvedArgs } from "../args";
import { CLUSTER_LABEL, NAMESPACE_LABEL } from "./queries";

export interface AlertRule {
    alert: string;
    expr: string;
    for: string;
    labels: Record<string, string>;
    annotations: Record<string, string>;
}

export interface RuleGroup {
    name: string;
    rules: AlertRule[];
}

/** The alert names, for the tests and the README. */
export const ALERTS = {
    noPrimary: "ReplicatedDbNoPrimary",
    twoPrimaries: "ReplicatedDbTwoPrimaries",
    replicaNotStreaming: "ReplicatedDbReplicaNotStreaming",
    replayLag: "ReplicatedDbReplayLagHigh",
    slotWal: "ReplicatedDbSlotWalNearLimit",
    diskFull: "ReplicatedDbDiskNearlyFull",
    checksumFailures: "ReplicatedDbChecksumFailures",
    archivingFailing: "ReplicatedDbArchivingFailing",
    backupTooOld: "ReplicatedDbBackupTooOld",
} as const;

/** How long a condition must hold before its alert fires. */
export const FOR = { role: "1m", streaming: "1m", lag: "2m", slot: "5m", disk: "5m", archiving: "5m", backup: "15m" } as const;

export function ruleGroup(args: ResolvedArgs): RuleGroup {
    const m = args.monitoring;
    const c = args.clusterName;
    const ns = args.namespace;
    const sel = `${CLUSTER_LABEL}="${c}",${NAMESPACE_LABEL}="${ns}"`;
    const by = `by (${CLUSTER_LABEL}, ${NAMESPACE_LABEL})`;
    const who = `${ns}/${c}`;
    const rule = (alert: string, expr: string, forTime: string, severity: string, summary: string, description: string): AlertRule => ({
        alert,
        expr,
        for: forTime,
        labels: { severity, cluster: c, namespace: ns },
        annotations: { summary, description },
    });
    const claims = `namespace="${ns}",persistentvolumeclaim=~"data-${c}-[0-9]+"`;
    const rules = [
        rule(
            ALERTS.noPrimary,
            `absent(rdb_server_is_primary{${sel}} == 1)`,
            FOR.role,
            "critical",
            `${who}: no pod takes writes`,
            "No scraped pod of the cluster reports itself as the primary (or none is scraped at all): writes fail.",
        ),
        rule(
            ALERTS.twoPrimaries,
            `count ${by} (rdb_server_is_primary{${sel}} == 1) > 1`,
            FOR.role,
            "critical",
            `${who}: more than one pod takes writes`,
            "{{ $value }} pods report themselves as the primary: their histories diverge. Stop all but one (README, \"Switchover and failover\").",
        ),
        rule(
            ALERTS.replicaNotStreaming,
            // From both ends: a standby that says it does not stream, and the primary streaming to fewer
            // replicas than the cluster has (a replica whose server is down says nothing itself).
            `rdb_standby_streaming{${sel}} == 0 or max ${by} (rdb_server_streaming_replicas{${sel}} and rdb_server_is_primary{${sel}} == 1) < ${args.replicas}`,
            FOR.streaming,
            "warning",
            `${who}: a replica is not streaming`,
            `A standby reports no streaming WAL receiver, or the primary streams to fewer than ${args.replicas} replicas ({{ $value }}): that replica's data ages and it refuses application connections.`,
        ),
        rule(
            ALERTS.replayLag,
            `rdb_replication_replay_lag_seconds{${sel}} > ${m.replayLagSeconds}`,
            FOR.lag,
            "warning",
            `${who}: replica {{ $labels.replica }} replays {{ $value }} s behind`,
            `The replica's replay lag is above ${m.replayLagSeconds} s (monitoring.replayLagSeconds): reads there are that old.`,
        ),
        rule(
            ALERTS.slotWal,
            `rdb_slot_retained_bytes{${sel}} > ${m.slotWalPercent / 100} * rdb_slot_max_retained_bytes{${sel}} and rdb_slot_max_retained_bytes{${sel}} > 0`,
            FOR.slot,
            "warning",
            `${who}: slot {{ $labels.slot }} holds WAL near its bound`,
            `The slot retains more than ${m.slotWalPercent}% of maxSlotWalKeepSize (${args.maxSlotWalKeepSize}); at the bound the primary drops the WAL and that replica must be cloned again.`,
        ),
        rule(
            ALERTS.diskFull,
            `kubelet_volume_stats_used_bytes{${claims}} / kubelet_volume_stats_capacity_bytes{${claims}} > ${m.diskUsedPercent / 100}`,
            FOR.disk,
            "warning",
            `${who}: volume {{ $labels.persistentvolumeclaim }} is nearly full ({{ $value }} used)`,
            `A data volume is more than ${m.diskUsedPercent}% full (monitoring.diskUsedPercent): grow storageSize (README, "Growing the volumes").`,
        ),
        rule(
            ALERTS.checksumFailures,
            `rdb_checksum_failures{${sel}} > 0`,
            "0m",
            "critical",
            `${who}: data checksum failures`,
            "The server has read {{ $value }} page(s) whose checksum does not match: storage corrupts data. Check the volume and restore from a replica or a backup.",
        ),
    ];
    if (args.backup.enabled) {
        rules.push(
            rule(
                ALERTS.archivingFailing,
                `rdb_archiver_failing{${sel}} == 1`,
                FOR.archiving,
                "critical",
                `${who}: WAL archiving fails`,
                "The primary's last attempts to archive WAL failed (pg_stat_archiver): point-in-time recovery has a gap from then, and WAL piles up on the primary.",
            ),
            rule(
                ALERTS.backupTooOld,
                `time() - max by (namespace) (kube_cronjob_status_last_successful_time{namespace="${ns}",cronjob=~"${c}-backup-(full|diff)"}) > ${m.backupMaxAgeHours * 3600}`,
                FOR.backup,
                "warning",
                `${who}: the last successful backup is too old ({{ $value }} s)`,
                `No backup Job has succeeded for more than ${m.backupMaxAgeHours} h (monitoring.backupMaxAgeHours; kube-state-metrics).`,
            ),
        );
    }
    return { name: `replicated-db.${ns}.${c}`, rules };
}

/** A Prometheus rules file (JSON is YAML). */
export function rulesFile(args: ResolvedArgs): string {
    return JSON.stringify({ groups: [ruleGroup(args)] }, null, 2) + "\n";
}

/**
 * A Grafana dashboard for one cluster (roles, lag, transactions, connections, WAL, slots, disk), on the exporter's
 * series (components/monitoring/queries.ts) and the kubelet's volume statistics. Its `cluster` and `namespace`
 * variables default to this cluster; `datasource` picks the Prometheus data source.
 */
import { ResolvedArgs } from "../args";
import { CLUSTER_LABEL, NAMESPACE_LABEL } from "./queries";

interface Target {
    expr: string;
    legendFormat: string;
}

interface Panel {
    title: string;
    unit: string;
    targets: Target[];
}

const SEL = `${CLUSTER_LABEL}="$cluster",${NAMESPACE_LABEL}="$namespace"`;
const CLAIMS = `namespace="$namespace",persistentvolumeclaim=~"data-$cluster-[0-9]+"`;

/** The panels, in reading order: a time series each, two to a row. */
export const PANELS: Panel[] = [
    { title: "Role (1 = primary)", unit: "none", targets: [{ expr: `rdb_server_is_primary{${SEL}}`, legendFormat: "{{pod}}" }] },
    { title: "Timeline", unit: "none", targets: [{ expr: `rdb_server_timeline{${SEL}}`, legendFormat: "{{pod}}" }] },
    {
        title: "Streaming replicas (primary's view)",
        unit: "none",
        targets: [{ expr: `rdb_server_streaming_replicas{${SEL}} and rdb_server_is_primary{${SEL}} == 1`, legendFormat: "{{pod}}" }],
    },
    { title: "Replica streaming (replica's view)", unit: "none", targets: [{ expr: `rdb_standby_streaming{${SEL}}`, legendFormat: "{{pod}}" }] },
    {
        title: "Replay lag (seconds)",
        unit: "s",
        targets: [
            { expr: `rdb_replication_replay_lag_seconds{${SEL}}`, legendFormat: "{{replica}} replay" },
            { expr: `rdb_replication_receive_lag_seconds{${SEL}}`, legendFormat: "{{replica}} receive" },
        ],
    },
    {
        title: "Replication lag (bytes)",
        unit: "bytes",
        targets: [
            { expr: `rdb_replication_replay_lag_bytes{${SEL}}`, legendFormat: "{{replica}} replay" },
            { expr: `rdb_replication_receive_lag_bytes{${SEL}}`, legendFormat: "{{replica}} receive" },
            { expr: `rdb_standby_replay_delay_bytes{${SEL}}`, legendFormat: "{{pod}} received, not replayed" },
        ],
    },
    {
        title: "Transactions per second",
        unit: "ops",
        targets: [
            { expr: `rate(rdb_activity_xact_commit{${SEL}}[1m])`, legendFormat: "{{pod}} commits" },
            { expr: `rate(rdb_activity_xact_rollback{${SEL}}[1m])`, legendFormat: "{{pod}} rollbacks" },
        ],
    },
    {
        title: "Connections",
        unit: "none",
        targets: [
            { expr: `rdb_activity_connections{${SEL}}`, legendFormat: "{{pod}}" },
            { expr: `max(rdb_activity_max_connections{${SEL}})`, legendFormat: "max_connections" },
        ],
    },
    { title: "WAL written or replayed (bytes/s)", unit: "Bps", targets: [{ expr: `rate(rdb_server_wal_position_bytes{${SEL}}[1m])`, legendFormat: "{{pod}}" }] },
    {
        title: "WAL retained by slots",
        unit: "bytes",
        targets: [
            { expr: `rdb_slot_retained_bytes{${SEL}}`, legendFormat: "{{pod}} {{slot}}" },
            { expr: `max(rdb_slot_max_retained_bytes{${SEL}})`, legendFormat: "maxSlotWalKeepSize" },
        ],
    },
    {
        title: "Data volume used",
        unit: "percentunit",
        targets: [{ expr: `kubelet_volume_stats_used_bytes{${CLAIMS}} / kubelet_volume_stats_capacity_bytes{${CLAIMS}}`, legendFormat: "{{persistentvolumeclaim}}" }],
    },
    { title: "Checksum failures", unit: "none", targets: [{ expr: `rdb_checksum_failures{${SEL}}`, legendFormat: "{{pod}}" }] },
];

/** The dashboard's JSON model (Grafana 9 and later). */
export function dashboard(args: ResolvedArgs): Record<string, unknown> {
    const variable = (name: string, value: string) => ({
        name,
        type: "custom",
        query: value,
        current: { text: value, value },
        options: [{ text: value, value, selected: true }],
        hide: 0,
    });
    return {
        title: `replicated-db ${args.namespace}/${args.clusterName}`,
        uid: `rdb-${args.namespace}-${args.clusterName}`.slice(0, 40),
        tags: ["replicated-db", "postgresql"],
        schemaVersion: 39,
        time: { from: "now-1h", to: "now" },
        refresh: "30s",
        templating: {
            list: [
                { name: "datasource", type: "datasource", query: "prometheus", hide: 0 },
                variable("cluster", args.clusterName),
                variable("namespace", args.namespace),
            ],
        },
        panels: PANELS.map((p, i) => ({
            id: i + 1,
            type: "timeseries",
            title: p.title,
            datasource: { type: "prometheus", uid: "${datasource}" },
            gridPos: { h: 8, w: 12, x: (i % 2) * 12, y: Math.floor(i / 2) * 8 },
            fieldConfig: { defaults: { unit: p.unit }, overrides: [] },
            targets: p.targets.map((t, j) => ({ refId: String.fromCharCode(65 + j), expr: t.expr, legendFormat: t.legendFormat })),
        })),
    };
}

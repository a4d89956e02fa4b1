/**
 * The rendered alert rules under Prometheus's own rule engine: `promtool test rules` (Debian's prometheus package)
 * on synthetic series. Each alert is shown to fire on the condition it names (after its `for`, with the labels and
 * the exact text it carries) and to stay quiet just short of it and on a healthy cluster; the rules file must also
 * pass `promtool check rules`. A deliberately wrong expectation is shown to fail, so the run is not vacuous.
 */
import * as assert from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { ResolvedArgs } from "../../components/args";
import { ALERTS, AlertRule, ruleGroup, rulesFile } from "../../components/monitoring/rules";
import { resolveArgs } from "../../components/resolve";

const IMAGE = "registry.example.com/replicated-db-postgres:17.6";
const ARGS_INPUT = {
    replicas: 2,
    image: IMAGE,
    backup: { enabled: true, s3Bucket: "bkp", s3Endpoint: "s3.example.com", s3CredentialsSecret: "creds" },
};
const ARGS = resolveArgs("db", ARGS_INPUT);
const ID = 'rdb_cluster="db",rdb_namespace="default"';
const GROUP_LABELS = { rdb_cluster: "db", rdb_namespace: "default" };

/** A series of pod `pod` (as a scrape labels it) for the cluster. */
const s = (metric: string, pod: string, extra = "") => `${metric}{${ID},instance="${pod}:9187",pod="${pod}"${extra ? `,${extra}` : ""}}`;
const podLabels = (pod: string) => ({ ...GROUP_LABELS, instance: `${pod}:9187`, pod });

/** A float as Go's fmt prints it in a template (`%v`: the shortest 'g' form, exponent from 1e6 or below 1e-4). */
function goFloat(x: number): string {
    if (x === 0) return "0";
    const exp = Math.floor(Math.log10(Math.abs(x)));
    if (exp < -4 || exp >= 6) {
        const [m, e] = x.toExponential().split("e");
        const n = Number(e);
        return `${m}e${n < 0 ? "-" : "+"}${String(Math.abs(n)).padStart(2, "0")}`;
    }
    return String(x);
}

/** The rule's annotations as Prometheus expands them: `{{ $labels.x }}` and `{{ $value }}`, nothing else allowed. */
function expand(rule: AlertRule, labels: Record<string, string>, value: number): Record<string, string> {
    return Object.fromEntries(
        Object.entries(rule.annotations).map(([k, text]) => [
            k,
            text.replace(/\{\{([^}]*)\}\}/g, (_m, inner: string) => {
                const t = inner.trim();
                if (t === "$value") return goFloat(value);
                const l = /^\$labels\.([a-zA-Z_][a-zA-Z0-9_]*)$/.exec(t);
                if (!l) throw new Error(`${rule.alert}: template ${t} is more than the tests expand`);
                return labels[l[1]] ?? "";
            }),
        ]),
    );
}

function rule(alert: string): AlertRule {
    const r = ruleGroup(ARGS).rules.find((x) => x.alert === alert);
    if (!r) throw new Error(`no rule ${alert}`);
    return r;
}

/** An expected alert: the series' (or group's) labels with the rule's, and its annotations at that value. */
function firing(alert: string, labels: Record<string, string>, value: number) {
    const r = rule(alert);
    const all = { ...labels, ...r.labels };
    return { exp_labels: all, exp_annotations: expand(r, all, value) };
}

interface Case {
    name: string;
    series: [string, string][];
    /** alert name -> [eval time, expected alerts] */
    checks: [string, string, ReturnType<typeof firing>[]][];
}

/** A healthy cluster: pod 0 primary streaming to two replicas, no lag, slots small, disks half full, backups recent. */
function healthy(): [string, string][] {
    return [
        [s("rdb_server_is_primary", "db-0"), "1x60"],
        [s("rdb_server_is_primary", "db-1"), "0x60"],
        [s("rdb_server_is_primary", "db-2"), "0x60"],
        [s("rdb_server_streaming_replicas", "db-0"), "2x60"],
        [s("rdb_server_streaming_replicas", "db-1"), "0x60"],
        [s("rdb_server_streaming_replicas", "db-2"), "0x60"],
        [s("rdb_standby_streaming", "db-1"), "1x60"],
        [s("rdb_standby_streaming", "db-2"), "1x60"],
        [s("rdb_replication_replay_lag_seconds", "db-0", 'replica="db_1"'), "0.5x60"],
        [s("rdb_replication_replay_lag_seconds", "db-0", 'replica="db_2"'), "1x60"],
        [s("rdb_slot_retained_bytes", "db-0", 'slot="db_1"'), "16777216x60"],
        [s("rdb_slot_max_retained_bytes", "db-0", 'slot="db_1"'), "1073741824x60"],
        [s("rdb_checksum_failures", "db-0"), "0x60"],
        [s("rdb_checksum_failures", "db-1"), "0x60"],
        [s("rdb_archiver_failing", "db-0"), "0x60"],
        ['kubelet_volume_stats_used_bytes{namespace="default",persistentvolumeclaim="data-db-0"}', "50x60"],
        ['kubelet_volume_stats_capacity_bytes{namespace="default",persistentvolumeclaim="data-db-0"}', "100x60"],
        // kube-state-metrics: the last success follows the clock (a backup a minute ago, every minute).
        ['kube_cronjob_status_last_successful_time{namespace="default",cronjob="db-backup-diff"}', "0+60x60"],
    ];
}

/** Replaces (or adds) the series of that name and labels. */
function withSeries(base: [string, string][], ...changes: [string, string | undefined][]): [string, string][] {
    const out = base.filter(([k]) => !changes.some(([c]) => c === k));
    for (const [k, v] of changes) if (v !== undefined) out.push([k, v]);
    return out;
}

const quiet = (alert: string, at = "30m"): [string, string, never[]] => [alert, at, []];

const CASES: Case[] = [
    { name: "a healthy cluster: no alert", series: healthy(), checks: Object.values(ALERTS).map((a) => quiet(a)) },
    {
        name: "no primary: every pod a standby",
        series: withSeries(healthy(), [s("rdb_server_is_primary", "db-0"), "0x60"]),
        checks: [
            [ALERTS.noPrimary, "30s", []],
            [ALERTS.noPrimary, "5m", [firing(ALERTS.noPrimary, {}, 1)]],
            quiet(ALERTS.twoPrimaries),
        ],
    },
    {
        name: "no primary: the primary's exporter is gone (no series at all)",
        series: withSeries(healthy(), [s("rdb_server_is_primary", "db-0"), "1x4 _x55"]),
        checks: [
            [ALERTS.noPrimary, "4m", []],
            [ALERTS.noPrimary, "15m", [firing(ALERTS.noPrimary, {}, 1)]],
        ],
    },
    {
        name: "two primaries",
        series: withSeries(healthy(), [s("rdb_server_is_primary", "db-1"), "0x4 1x55"]),
        checks: [
            [ALERTS.twoPrimaries, "4m", []],
            [ALERTS.twoPrimaries, "10m", [firing(ALERTS.twoPrimaries, GROUP_LABELS, 2)]],
            quiet(ALERTS.noPrimary),
        ],
    },
    {
        name: "a standby that does not stream (its server up, gated)",
        series: withSeries(healthy(), [s("rdb_standby_streaming", "db-2"), "1x9 0x50"], [s("rdb_server_streaming_replicas", "db-0"), "2x9 1x50"]),
        checks: [
            [ALERTS.replicaNotStreaming, "9m", []],
            [ALERTS.replicaNotStreaming, "10m", []],
            [
                ALERTS.replicaNotStreaming,
                "20m",
                [firing(ALERTS.replicaNotStreaming, { ...podLabels("db-2") }, 0), firing(ALERTS.replicaNotStreaming, GROUP_LABELS, 1)],
            ],
        ],
    },
    {
        name: "a replica whose server is down: only the primary's count says so",
        series: withSeries(healthy(), [s("rdb_standby_streaming", "db-2"), "1x9 _x50"], [s("rdb_server_streaming_replicas", "db-0"), "2x9 1x50"]),
        checks: [[ALERTS.replicaNotStreaming, "20m", [firing(ALERTS.replicaNotStreaming, GROUP_LABELS, 1)]]],
    },
    {
        name: "replay lag over monitoring.replayLagSeconds (60), and just under it",
        series: withSeries(
            healthy(),
            [s("rdb_replication_replay_lag_seconds", "db-0", 'replica="db_1"'), "120x60"],
            [s("rdb_replication_replay_lag_seconds", "db-0", 'replica="db_2"'), "59x60"],
        ),
        checks: [
            [ALERTS.replayLag, "1m", []],
            [ALERTS.replayLag, "10m", [firing(ALERTS.replayLag, { ...podLabels("db-0"), replica: "db_1" }, 120)]],
        ],
    },
    {
        name: "a slot over 80% of maxSlotWalKeepSize, one under it, and one with no bound",
        series: withSeries(
            healthy(),
            [s("rdb_slot_retained_bytes", "db-0", 'slot="db_1"'), "900000000x60"],
            [s("rdb_slot_retained_bytes", "db-0", 'slot="db_2"'), "800000000x60"],
            [s("rdb_slot_max_retained_bytes", "db-0", 'slot="db_2"'), "1073741824x60"],
            [s("rdb_slot_retained_bytes", "db-1", 'slot="db_1"'), "99999999999x60"],
            [s("rdb_slot_max_retained_bytes", "db-1", 'slot="db_1"'), "-1x60"],
        ),
        checks: [
            [ALERTS.slotWal, "4m", []],
            [ALERTS.slotWal, "10m", [firing(ALERTS.slotWal, { ...podLabels("db-0"), slot: "db_1" }, 900000000)]],
        ],
    },
    {
        name: "a data volume over 85%, another cluster's ignored",
        series: withSeries(
            healthy(),
            ['kubelet_volume_stats_used_bytes{namespace="default",persistentvolumeclaim="data-db-0"}', "90x60"],
            ['kubelet_volume_stats_used_bytes{namespace="default",persistentvolumeclaim="data-db-1"}', "84x60"],
            ['kubelet_volume_stats_capacity_bytes{namespace="default",persistentvolumeclaim="data-db-1"}', "100x60"],
            ['kubelet_volume_stats_used_bytes{namespace="default",persistentvolumeclaim="data-other-0"}', "99x60"],
            ['kubelet_volume_stats_capacity_bytes{namespace="default",persistentvolumeclaim="data-other-0"}', "100x60"],
        ),
        checks: [
            [ALERTS.diskFull, "4m", []],
            [ALERTS.diskFull, "10m", [firing(ALERTS.diskFull, { namespace: "default", persistentvolumeclaim: "data-db-0" }, 0.9)]],
        ],
    },
    {
        name: "a checksum failure fires at once",
        series: withSeries(healthy(), [s("rdb_checksum_failures", "db-1"), "0x4 3x55"]),
        checks: [
            [ALERTS.checksumFailures, "4m", []],
            [ALERTS.checksumFailures, "5m", [firing(ALERTS.checksumFailures, podLabels("db-1"), 3)]],
        ],
    },
    {
        name: "archiving failing",
        series: withSeries(healthy(), [s("rdb_archiver_failing", "db-0"), "0x4 1x55"]),
        checks: [
            [ALERTS.archivingFailing, "8m", []],
            [ALERTS.archivingFailing, "15m", [firing(ALERTS.archivingFailing, podLabels("db-0"), 1)]],
        ],
    },
];

/** The last backup 50 h ago (over monitoring.backupMaxAgeHours, 48), and 47 h ago: long series of their own. */
const BACKUP_CASES: Case[] = [
    {
        name: "the last successful backup too old",
        series: [['kube_cronjob_status_last_successful_time{namespace="default",cronjob="db-backup-full"}', "0x3100"]],
        checks: [
            [ALERTS.backupTooOld, "47h", []],
            [ALERTS.backupTooOld, "50h", [firing(ALERTS.backupTooOld, { namespace: "default" }, 180000)]],
        ],
    },
    {
        name: "another cluster's old backup is ignored",
        series: [['kube_cronjob_status_last_successful_time{namespace="default",cronjob="other-backup-full"}', "0x3100"]],
        checks: [[ALERTS.backupTooOld, "50h", []]],
    },
];

function testFile(cases: Case[], interval: string): object {
    return {
        rule_files: ["rules.yaml"],
        evaluation_interval: interval,
        tests: cases.map((c) => ({
            name: c.name,
            interval,
            input_series: c.series.map(([series, values]) => ({ series, values })),
            alert_rule_test: c.checks.map(([alertname, eval_time, exp_alerts]) => ({ eval_time, alertname, exp_alerts })),
        })),
    };
}

function promtool(dir: string, ...args: string[]) {
    const r = spawnSync("promtool", args, { cwd: dir, encoding: "utf8" });
    assert.ok(!r.error, `promtool could not run (Debian's prometheus package): ${r.error}`);
    return r;
}

function runCases(args: ResolvedArgs, cases: Case[], interval: string) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "rdb-rules-"));
    try {
        fs.writeFileSync(path.join(dir, "rules.yaml"), rulesFile(args));
        fs.writeFileSync(path.join(dir, "test.yaml"), JSON.stringify(testFile(cases, interval), null, 2));
        return promtool(dir, "test", "rules", "test.yaml");
    } finally {
        fs.rmSync(dir, { recursive: true, force: true });
    }
}

describe("the alert rules under promtool", () => {
    it("pass promtool check rules", () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "rdb-rules-"));
        try {
            fs.writeFileSync(path.join(dir, "rules.yaml"), rulesFile(ARGS));
            const r = promtool(dir, "check", "rules", "rules.yaml");
            assert.strictEqual(r.status, 0, r.stdout + r.stderr);
            assert.match(r.stdout, new RegExp(`SUCCESS: ${Object.keys(ALERTS).length} rules found`));
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });

    it("each alert fires on its condition and stays quiet short of it", () => {
        const r = runCases(ARGS, CASES, "1m");
        assert.strictEqual(r.status, 0, r.stdout + r.stderr);
    });

    it("the backup age over days of series", () => {
        const r = runCases(ARGS, BACKUP_CASES, "1m");
        assert.strictEqual(r.status, 0, r.stdout + r.stderr);
    });

    it("is not vacuous: a wrong expectation fails promtool", () => {
        // The healthy cluster, expected to raise NoPrimary: promtool must refuse.
        const wrong: Case = { name: "wrong", series: healthy(), checks: [[ALERTS.noPrimary, "30m", [firing(ALERTS.noPrimary, {}, 1)]]] };
        const r = runCases(ARGS, [wrong], "1m");
        assert.notStrictEqual(r.status, 0, "promtool passed a wrong expectation");
        assert.match(r.stdout + r.stderr, /ReplicatedDbNoPrimary/);
        // And thresholds from the args move the result: with replayLagSeconds 150, 120 s of lag is quiet.
        const lag = CASES.find((c) => c.name.startsWith("replay lag"))!;
        const relaxed = resolveArgs("db", { ...ARGS_INPUT, monitoring: { replayLagSeconds: 150 } });
        const quietLag: Case = { ...lag, checks: [quiet(ALERTS.replayLag, "10m")] };
        const q = runCases(relaxed, [quietLag], "1m");
        assert.strictEqual(q.status, 0, q.stdout + q.stderr);
    });
});

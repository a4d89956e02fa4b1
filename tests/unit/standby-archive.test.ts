/**
 * A standby cluster's second feed, the source's archive (docs/standby.md):
 * `standby.archiveFromClusterName`/`archiveFromNamespace` checked (the source's stanza, derived as a restore's,
 * never this cluster's own; the repository fields and an image with pgBackRest required), and what it renders in
 * both modes: the source's stanza for pgBackRest, the scripts, the restore_command and replica method of Patroni,
 * and that a promotion still changes the config ConfigMap only while this cluster archives to its own stanza.
 */
import * as assert from "assert";
import { BackupArgs, ReplicatedDatabaseArgs, StandbyArgs } from "../../components/args";
import { resolveRestore, sourceStanza } from "../../components/backup/resolve";
import { resolveArgs } from "../../components/resolve";
import { ArgError } from "../../components/validation";
import { PATRONI_STANDBY_FILE } from "../../components/engines/postgres/topologies/patroni/standby";
import { container, env, find, renderComponent } from "./helpers";
import { plan } from "./plan";

const CA = "-----BEGIN CERTIFICATE-----\nMIIBsource\n-----END CERTIFICATE-----\n";
const IMAGE = "registry.example.com/replicated-db-postgres:17.6";
const REPOSITORY: BackupArgs = { s3Bucket: "backups", s3Endpoint: "s3.eu-west-1.amazonaws.com", s3CredentialsSecret: "s3-creds" };
const STANDBY: StandbyArgs = {
    enabled: true,
    sourceHosts: ["db-rw.databases.svc.eu-west.example"],
    replicationSecretName: "source-replication",
    sourceCaCertificate: CA,
    archiveFromClusterName: "db",
    archiveFromNamespace: "databases",
};
/** The standby "dr" in namespace "databases" of the source "db" there, its repository the source's. */
const DR: ReplicatedDatabaseArgs = { namespace: "databases", image: IMAGE, backup: REPOSITORY, standby: STANDBY };

function refused(name: string, args: ReplicatedDatabaseArgs, message: string): void {
    assert.throws(
        () => resolveArgs(name, args),
        (err: unknown) => err instanceof ArgError && err.message === message,
        `expected: ${message}`,
    );
}

describe("standby cluster, archive feed: the args", () => {
    it("names the source's stanza as a restore does, and needs the repository even with backups off", () => {
        const r = resolveArgs("dr", DR);
        assert.strictEqual(r.standby!.archiveStanza, "databases-db");
        assert.strictEqual(r.backup.enabled, false);
        assert.strictEqual(r.backup.repositoryUsed, true);
        assert.strictEqual(r.backup.stanza, "databases-dr");
        // One derivation: the restore of the same names reads the same stanza.
        assert.strictEqual(resolveRestore({ fromClusterName: "db", fromNamespace: "databases" }, { namespace: "x", clusterName: "dr" })!.stanza, "databases-db");
        assert.strictEqual(sourceStanza("a", "db", "b", "", { namespace: "databases" }), "databases-db");
        // The namespace defaults to this cluster's.
        const { archiveFromNamespace: _ns, ...sameNamespace } = STANDBY;
        assert.strictEqual(resolveArgs("dr", { ...DR, standby: sameNamespace }).standby!.archiveStanza, "databases-db");
        // Left out: streaming only, and no repository.
        const { archiveFromClusterName: _c, archiveFromNamespace: _n, ...streaming } = STANDBY;
        const s = resolveArgs("dr", { namespace: "databases", standby: streaming });
        assert.strictEqual(s.standby!.archiveStanza, "");
        assert.strictEqual(s.backup.repositoryUsed, false);
    });

    it("refuses what cannot work, in one line naming the setting", () => {
        refused(
            "db",
            DR,
            'invalid standby.archiveFromClusterName: "db" (allowed: another stanza than this cluster\'s own (databases-db): after a promotion this cluster ' +
                "archives there, which must never be the source's (give this cluster another clusterName, or set standby.archiveFromNamespace to the source's namespace))",
        );
        refused(
            "dr",
            { ...DR, standby: { ...STANDBY, archiveFromClusterName: "" } },
            'invalid standby.archiveFromClusterName: "" (allowed: the source\'s clusterName (its stanza in the backup repository) when standby.archiveFromNamespace is set)',
        );
        assert.throws(() => resolveArgs("dr", { ...DR, standby: { ...STANDBY, archiveFromClusterName: "Db_1" } }), /^ArgError: invalid standby\.archiveFromClusterName: "Db_1" \(allowed: a DNS-1123 label/);
        assert.throws(() => resolveArgs("dr", { ...DR, standby: { ...STANDBY, archiveFromNamespace: "EU" } }), /^ArgError: invalid standby\.archiveFromNamespace: "EU" \(allowed: a DNS-1123 label/);
        // The repository the stanza is read from must be described, and the image must have pgBackRest.
        refused(
            "dr",
            { ...DR, backup: { ...REPOSITORY, s3Bucket: "" } },
            'invalid backup.s3Bucket: "" (allowed: a bucket name (3 to 63 lower-case letters, digits, \'.\' and \'-\'), required with backup.repositoryType "s3")',
        );
        refused(
            "dr",
            { ...DR, image: undefined },
            'invalid image: "(unset)" (allowed: an image with pgBackRest when standby.archiveFromClusterName is set: the default image has none (images/postgres/Dockerfile builds one from it))',
        );
    });
});

describe("standby cluster, archive feed: what it renders", () => {
    const settings = async (args: ReplicatedDatabaseArgs) => find(await renderComponent("dr", args), "ConfigMap", "dr-settings").data;

    it("manual mode: the source's stanza for pgBackRest and the scripts, no restore_command of its own with backups off", async () => {
        const r = await renderComponent("dr", DR);
        const data = find(r, "ConfigMap", "dr-settings").data;
        assert.match(data["pgbackrest.conf"], /\n\[databases-db\]\npg1-path=/);
        assert.match(data["pgbackrest.conf"], /\n\[databases-dr\]\npg1-path=/);
        // The restore_command is the supervisor's (follow.conf, live): none rendered, no archiving without backups.
        assert.doesNotMatch(data["postgresql.conf"], /restore_command|archive_mode/);
        const pg = container(find(r, "StatefulSet"), "postgres");
        assert.strictEqual(env(pg, "RDB_STANDBY_ARCHIVE_FROM").value, "databases-db");
        assert.strictEqual(env(pg, "PGBACKREST_STANZA").value, "databases-dr");
        const scripts = find(r, "ConfigMap", "dr-scripts").data;
        assert.match(scripts["archive-get.sh"], /pgbackrest --stanza="\$FROM" archive-get/);
        assert.ok(scripts["restore-standby.sh"]);
        // The network policy lets the pods reach the repository.
        const egress = find(r, "NetworkPolicy", "dr").spec.egress;
        assert.ok(egress.some((rule: any) => rule.ports?.some((p: any) => p.port === 443)), JSON.stringify(egress));
    });

    it("promotes with one config change; with backups on the cluster archives to its own stanza only", async () => {
        const withBackups = { ...DR, backup: { ...REPOSITORY, enabled: true } };
        const before = await renderComponent("dr", withBackups);
        const after = await renderComponent("dr", { ...withBackups, standby: { ...STANDBY, enabled: false } });
        const changed = Object.entries(plan(before, after)).filter(([, s]) => s !== "same");
        assert.deepStrictEqual(changed, [["dr-config", "update"]]);
        const conf = find(after, "ConfigMap", "dr-settings").data["postgresql.conf"];
        // archive-push takes the stanza from PGBACKREST_STANZA, this cluster's; the command never names another.
        assert.match(conf, /archive_command = 'pgbackrest archive-push %p'/);
        assert.match(conf, /restore_command = 'pgbackrest archive-get %f "%p"'/);
        assert.strictEqual(env(container(find(after, "StatefulSet"), "postgres"), "PGBACKREST_STANZA").value, "databases-dr");
    });

    it("Patroni: standby_cluster's restore_command reads the source's stanza; the pgbackrest method before basebackup", async () => {
        const scripts = find(await renderComponent("dr", { ...DR, failover: "patroni" }), "ConfigMap", "dr-scripts").data;
        assert.ok(scripts["archive-get.sh"] && scripts["restore-standby.sh"]);
        const patroni = async (standby: StandbyArgs) => JSON.parse((await settings({ ...DR, failover: "patroni", standby }))["patroni.yml"]);
        // The setting is in the live file (patroni-standby.json), which patroni-standby.sh applies.
        const live = async (standby: StandbyArgs) => JSON.parse((await settings({ ...DR, failover: "patroni", standby }))[PATRONI_STANDBY_FILE]).standby_cluster;
        const cfg = await patroni(STANDBY);
        assert.deepStrictEqual(await live(STANDBY), {
            host: "db-rw.databases.svc.eu-west.example",
            port: 5432,
            primary_slot_name: null,
            create_replica_methods: ["pgbackrest", "basebackup"],
            restore_command: '/bin/bash /etc/replicated-db/scripts/archive-get.sh %f "%p"',
            archive_cleanup_command: null,
            recovery_min_apply_delay: null,
        });
        assert.deepStrictEqual(cfg.postgresql.pgbackrest, { command: "/bin/bash /etc/replicated-db/scripts/restore-standby.sh", keep_data: false, no_leader: true });
        // Replicas of the standby cluster have no restore_command of the source's.
        assert.strictEqual(cfg.postgresql.recovery_conf, undefined);
        const promoted = await patroni({ ...STANDBY, enabled: false });
        assert.strictEqual(await live({ ...STANDBY, enabled: false }), null);
        assert.deepStrictEqual(promoted.postgresql.pgbackrest, cfg.postgresql.pgbackrest);
        // Without the feed: basebackup only, no method.
        const { archiveFromClusterName: _c, archiveFromNamespace: _n, ...streaming } = STANDBY;
        const plainSettings = find(await renderComponent("dr", { namespace: "databases", failover: "patroni", image: IMAGE, standby: streaming }), "ConfigMap", "dr-settings").data;
        const plain = JSON.parse(plainSettings["patroni.yml"]);
        assert.deepStrictEqual(JSON.parse(plainSettings[PATRONI_STANDBY_FILE]).standby_cluster.create_replica_methods, ["basebackup"]);
        assert.strictEqual(JSON.parse(plainSettings[PATRONI_STANDBY_FILE]).standby_cluster.restore_command, null);
        assert.strictEqual(plain.postgresql.pgbackrest, undefined);
    });
});

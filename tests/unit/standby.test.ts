/**
 * A standby cluster (docs/standby.md): the `standby` arg's checks, what it renders
 * (live config files, the source's replication password mounted, the network policy's egress to the source,
 * Patroni's standby_cluster), that a promotion (`enabled: false`) changes the config ConfigMap only, and the
 * source side's `tls.extraDnsNames` and `networkPolicy.allowedClientCidrs`.
 */
import * as assert from "assert";
import { ReplicatedDatabaseArgs, StandbyArgs } from "../../components/args";
import { resolveArgs } from "../../components/resolve";
import { PATRONI_STANDBY_FILE, PATRONI_STANDBY_KEYS, patroniStandbyCluster } from "../../components/engines/postgres/topologies/patroni/standby";
import { STANDBY_CONFIG_KEYS } from "../../components/standby/pod";
import { resolveStandby } from "../../components/standby/resolve";
import { ArgError } from "../../components/validation";
import { container, env, find, renderComponent, resource } from "./helpers";
import { plan } from "./plan";

const CA = "-----BEGIN CERTIFICATE-----\nMIIBsource\n-----END CERTIFICATE-----\n";
const STANDBY: StandbyArgs = {
    enabled: true,
    sourceHosts: ["db-rw.databases.svc.eu-west.example"],
    replicationSecretName: "source-replication",
    sourceCaCertificate: CA,
};
const PATRONI = { failover: "patroni", image: "registry.example.com/postgres-patroni:17.6" };

function refused(args: ReplicatedDatabaseArgs, message: string): void {
    assert.throws(
        () => resolveArgs("db", args),
        (err: unknown) => err instanceof ArgError && err.message === message,
        `expected: ${message}`,
    );
}

describe("standby cluster: the args", () => {
    it("fills the defaults, and is undefined when left out", () => {
        assert.strictEqual(resolveArgs("db", {}).standby, undefined);
        assert.deepStrictEqual(resolveArgs("db", { standby: STANDBY }).standby, {
            ...STANDBY,
            sourcePort: 5432,
            sourceCidrs: ["0.0.0.0/0"],
            archiveFromClusterName: "",
            archiveFromNamespace: "",
            archiveStanza: "",
        });
        // A promoted standby may keep its fields, or drop them.
        assert.strictEqual(resolveArgs("db", { standby: { enabled: false } }).standby!.enabled, false);
        // Without TLS the source's CA is not required.
        const { sourceCaCertificate: _ca, ...noCa } = STANDBY;
        assert.strictEqual(resolveArgs("db", { tls: { enabled: false }, standby: noCa }).standby!.sourceCaCertificate, "");
    });

    it("refuses what cannot work, in one line naming the setting", () => {
        refused({ standby: { ...STANDBY, sourceHosts: [] } }, 'invalid standby.sourceHosts: [] (allowed: at least one host name of the source when standby.enabled is true)');
        refused(
            { standby: { ...STANDBY, sourceCaCertificate: "" } },
            'invalid standby.sourceCaCertificate: "" (allowed: the source\'s CA certificate (PEM) when tls.enabled is true: the standby verifies the source with verify-full)',
        );
        refused(
            { standby: { ...STANDBY, sourceCaCertificate: "not a certificate" } },
            'invalid standby.sourceCaCertificate: "not a certificate" (allowed: a PEM certificate (-----BEGIN CERTIFICATE----- ...), the source\'s caCertificate output)',
        );
        refused(
            { standby: { ...STANDBY, replicationSecretName: "" } },
            'invalid standby.replicationSecretName: "" (allowed: a Secret with key replication-password holding the source\'s replication password, when standby.enabled is true)',
        );
        refused({ standby: { ...STANDBY, sourcePort: 0 } }, "invalid standby.sourcePort: 0 (allowed: a whole number from 1 to 65535)");
        assert.throws(() => resolveArgs("db", { standby: { ...STANDBY, sourceHosts: ["Not_A_Host"] } }), /^ArgError: invalid standby\.sourceHosts\[0\]: "Not_A_Host" \(allowed: /);
        refused({ standby: { ...STANDBY, sourceCidrs: [] } }, "invalid standby.sourceCidrs: [] (allowed: a non-empty list of CIDRs: where the source may be)");
        refused(
            { standby: { ...STANDBY, sourceCidrs: ["10.0.0.1/16"] } },
            'invalid standby.sourceCidrs[0]: "10.0.0.1/16" (allowed: a CIDR such as "10.0.0.0/16" or "fd00::/64", with no bits set after the prefix)',
        );
        refused(
            { standby: { ...STANDBY, primary: "x" } as StandbyArgs },
            'invalid standby.primary: "x" (allowed: one of the standby settings: enabled, sourceHosts, sourcePort, replicationSecretName, sourceCaCertificate, sourceCidrs, archiveFromClusterName, archiveFromNamespace)',
        );
        refused(
            { standby: STANDBY, restore: { fromClusterName: "old" }, backup: { s3Bucket: "bkp", s3Endpoint: "s3.example.com", s3CredentialsSecret: "c" }, image: "registry.example.com/pg:17.6" },
            `invalid standby: ${JSON.stringify(STANDBY)} (allowed: unset when restore is set: a standby's data comes from its source, a restore's from the backups)`,
        );
        refused({ standby: "yes" as unknown as StandbyArgs }, 'invalid standby: "yes" (allowed: a map of standby settings (see docs/configuration.md))');
    });

    it("checks the source side's extra certificate names and client CIDRs", () => {
        refused({ tls: { source: "secret", secretName: "mine", extraDnsNames: ["db.example.com"] } }, 'invalid tls.extraDnsNames: ["db.example.com"] (allowed: empty with tls.source "secret" (your certificate carries the names you gave it))');
        assert.throws(() => resolveArgs("db", { tls: { extraDnsNames: ["bad name"] } }), /^ArgError: invalid tls\.extraDnsNames\[0\]: "bad name" \(allowed: /);
        refused(
            { networkPolicy: { allowedClientCidrs: ["10.1.0.1/16"] } },
            'invalid networkPolicy.allowedClientCidrs[0]: "10.1.0.1/16" (allowed: a CIDR such as "10.0.0.0/16" or "fd00::/64", with no bits set after the prefix)',
        );
        assert.deepStrictEqual(resolveArgs("db", {}).networkPolicy.allowedClientCidrs, []);
    });

    it("is a pure function the component and the program share", () => {
        assert.strictEqual(resolveStandby(undefined, { tlsEnabled: true, restoring: false, namespace: "default", clusterName: "db" }), undefined);
        assert.throws(() => resolveStandby({ enabled: true }, { tlsEnabled: false, restoring: false, namespace: "default", clusterName: "db" }, (a) => `replicated-db:${a}`), /invalid replicated-db:standby\.sourceHosts/);
    });
});

describe("standby cluster: what it renders", () => {
    it("gives the pods the source live in the config ConfigMap, and the source's replication password", async () => {
        const r = await renderComponent("db", { standby: { ...STANDBY, sourcePort: 6432 } });
        const config = find(r, "ConfigMap", "db-settings").data;
        assert.strictEqual(config["standby-hosts"], "db-rw.databases.svc.eu-west.example");
        assert.strictEqual(config["standby-port"], "6432");
        assert.strictEqual(config["standby-ca.crt"], CA);
        const sts = find(r, "StatefulSet");
        const volume = sts.spec.template.spec.volumes.find((v: any) => v.name === "standby-replication");
        assert.deepStrictEqual(volume.secret, { secretName: "source-replication", defaultMode: 0o440, items: [{ key: "replication-password", path: "replication-password" }] });
        const pg = container(sts, "postgres");
        assert.ok(pg.volumeMounts.some((m: any) => m.name === "standby-replication" && m.mountPath === "/etc/replicated-db/standby-replication" && m.readOnly));
        assert.strictEqual(env(pg, "RDB_REPLICATION_SECRET_DIR").value, "/etc/replicated-db/standby-replication");
        // The script that keeps the named pod a standby of the source is shipped.
        assert.ok(find(r, "ConfigMap", "db-scripts").data["standby.sh"]);
    });

    it("renders nothing of it without the arg", async () => {
        const r = await renderComponent("db", {});
        const config = find(r, "ConfigMap", "db-settings").data;
        assert.ok(!Object.keys(config).some((k) => k.startsWith("standby-")));
        const sts = find(r, "StatefulSet");
        assert.ok(!sts.spec.template.spec.volumes.some((v: any) => v.name === "standby-replication"));
        assert.ok(!container(sts, "postgres").env.some((e: any) => e.name === "RDB_REPLICATION_SECRET_DIR"));
    });

    it("promotes with one config change: standby-hosts empties, nothing else changes (no pod rolls)", async () => {
        const before = await renderComponent("db", { standby: STANDBY });
        const after = await renderComponent("db", { standby: { ...STANDBY, enabled: false } });
        const steps = plan(before, after);
        const changed = Object.entries(steps).filter(([, s]) => s !== "same");
        assert.deepStrictEqual(changed, [["db-config", "update"]]);
        assert.strictEqual(find(after, "ConfigMap", "db-settings").data["standby-hosts"], "");
        // The replication password stays the source's after the promotion (no change of the pod template).
        assert.ok(find(after, "StatefulSet").spec.template.spec.volumes.some((v: any) => v.name === "standby-replication"));
    });

    it("lets the pods reach the source on its port (egress), kept after a promotion", async () => {
        for (const enabled of [true, false]) {
            const r = await renderComponent("db", { standby: { ...STANDBY, enabled, sourcePort: 6432, sourceCidrs: ["203.0.113.0/24"] } });
            const egress = find(r, "NetworkPolicy", "db").spec.egress;
            assert.deepStrictEqual(egress[egress.length - 1], { to: [{ ipBlock: { cidr: "203.0.113.0/24" } }], ports: [{ protocol: "TCP", port: 6432 }] });
        }
    });

    it("on the source: lets a standby in by CIDR, and names it in the certificate", async () => {
        const r = await renderComponent("db", { namespace: "databases", networkPolicy: { allowedClientCidrs: ["198.51.100.0/24"] }, tls: { extraDnsNames: ["db.eu-west.example.com", "db-rw"] } });
        const ingress = find(r, "NetworkPolicy", "db").spec.ingress;
        assert.deepStrictEqual(
            ingress.filter((rule: any) => rule.from.some((peer: any) => peer.ipBlock)),
            [{ from: [{ ipBlock: { cidr: "198.51.100.0/24" } }], ports: [{ protocol: "TCP", port: 5432 }] }],
        );
        const names: string[] = resource(r, "db-tls-request").inputs.dnsNames;
        assert.ok(names.includes("db.eu-west.example.com"));
        // A name given twice is carried once.
        assert.strictEqual(names.filter((n) => n === "db-rw").length, 1);
    });

    it("with Patroni: its standby_cluster setting, replication trusting both CAs; promoted, none", async () => {
        const patroni = async (standby: StandbyArgs) => JSON.parse(find(await renderComponent("db", { ...PATRONI, standby }), "ConfigMap", "db-settings").data["patroni.yml"]);
        const cfg = await patroni({ ...STANDBY, sourceHosts: ["a.example.com", "b.example.com"], sourcePort: 6432 });
        assert.deepStrictEqual(patroniStandbyCluster(resolveArgs("db", { ...PATRONI, standby: { ...STANDBY, sourceHosts: ["a.example.com", "b.example.com"], sourcePort: 6432 } }), "/etc/replicated-db/scripts"), {
            standby_cluster: { host: "a.example.com,b.example.com", port: 6432, create_replica_methods: ["basebackup"] },
        });
        // Not in patroni.yml (whose change would roll the pods): patroni-standby.sh adds the live file's at start.
        assert.strictEqual(cfg.bootstrap.dcs.standby_cluster, undefined);
        assert.strictEqual(cfg.postgresql.authentication.replication.sslrootcert, "/run/replicated-db/ca-bundle.crt");
        assert.strictEqual(cfg.postgresql.authentication.rewind.sslrootcert, "/etc/replicated-db/tls/ca.crt");
        const promoted = await patroni({ ...STANDBY, enabled: false });
        assert.strictEqual(promoted.bootstrap.dcs.standby_cluster, undefined);
    });

    it("with Patroni: the live standby_cluster file (every managed key, null when not rendered); null once promoted, without a roll", async () => {
        const live = async (standby: StandbyArgs) => {
            const r = await renderComponent("db", { ...PATRONI, standby });
            return { r, file: JSON.parse(find(r, "ConfigMap", "db-settings").data[PATRONI_STANDBY_FILE]) };
        };
        const { r: before, file } = await live({ ...STANDBY, sourcePort: 6432 });
        const rendered = patroniStandbyCluster(resolveArgs("db", { ...PATRONI, standby: { ...STANDBY, sourcePort: 6432 } }), "/etc/replicated-db/scripts").standby_cluster as Record<string, unknown>;
        assert.deepStrictEqual(Object.keys(file.standby_cluster).sort(), [...PATRONI_STANDBY_KEYS].sort());
        // The rendered setting, and every other key it may set as null: Patroni's --apply merges, so a key
        // rendered once and dropped later is removed from the store rather than left behind.
        for (const k of PATRONI_STANDBY_KEYS) assert.deepStrictEqual(file.standby_cluster[k], rendered[k] ?? null, k);
        const { r: after, file: promoted } = await live({ ...STANDBY, sourcePort: 6432, enabled: false });
        assert.deepStrictEqual(promoted, { standby_cluster: null });
        assert.deepStrictEqual(Object.entries(plan(before, after)).filter(([, s]) => s !== "same"), [["db-config", "update"]]);
        // Not with the script-driven mode, nor without the arg.
        assert.strictEqual(find(await renderComponent("db", { standby: STANDBY }), "ConfigMap", "db-settings").data[PATRONI_STANDBY_FILE], undefined);
        assert.strictEqual(find(await renderComponent("db", PATRONI), "ConfigMap", "db-settings").data[PATRONI_STANDBY_FILE], undefined);
    });

    it("the scripts read the live files by the names the component renders them under", async () => {
        const scripts = find(await renderComponent("db", { ...PATRONI, standby: STANDBY }), "ConfigMap", "db-scripts").data;
        const manual = find(await renderComponent("db", { standby: STANDBY }), "ConfigMap", "db-scripts").data;
        for (const name of Object.values(STANDBY_CONFIG_KEYS)) assert.ok(manual["standby.sh"].includes(`$RDB_CONFIG_DIR/${name}`), name);
        assert.ok(scripts["patroni-standby.sh"].includes(`$RDB_CONFIG_DIR/${PATRONI_STANDBY_FILE}`));
        assert.ok(scripts["patroni.sh"].includes(`$RDB_CONFIG_DIR/${STANDBY_CONFIG_KEYS.ca}`));
    });
});

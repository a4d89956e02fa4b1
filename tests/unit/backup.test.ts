/** What the component renders for backups and restores (pgBackRest), under Pulumi mocks. */
import * as assert from "assert";
import { container, env, find, ofKind, renderComponent, resource } from "./helpers";

const IMAGE = "registry.example.com/replicated-db-postgres:17.6";
const S3 = { enabled: true, s3Bucket: "backups", s3Endpoint: "minio.storage:9000", s3UriStyle: "path", s3CredentialsSecret: "s3-creds" };
const conf = (r: any, cluster = "db") => find(r, "ConfigMap", `${cluster}-settings`).data["pgbackrest.conf"] as string;
const settings = (text: string) => Object.fromEntries(text.split("\n").filter((l) => /^[a-z0-9-]+=/.test(l)).map((l) => l.split(/=(.*)/s).slice(0, 2)));

describe("backups (pgBackRest)", () => {
    it("render nothing of it when off", async () => {
        const r = await renderComponent("db", {});
        assert.strictEqual(ofKind(r, "CronJob").length, 0);
        assert.strictEqual(conf(r), undefined);
        const pg = container(find(r, "StatefulSet"), "postgres");
        assert.ok(!pg.env.some((e: any) => /^PGBACKREST_|^RDB_BACKUP|^RDB_RESTORE/.test(e.name)));
        assert.doesNotMatch(find(r, "ConfigMap", "db-settings").data["postgresql.conf"], /archive_/);
        assert.ok(!Object.keys(find(r, "ConfigMap", "db-scripts").data).includes("backup.sh"));
    });

    it("archive from the server through pgBackRest, with the stanza and credentials in the environment", async () => {
        const r = await renderComponent("db", { image: IMAGE, namespace: "shop", backup: S3 });
        const pgconf = find(r, "ConfigMap", "db-settings").data["postgresql.conf"];
        assert.match(pgconf, /^archive_mode = 'on'$/m);
        assert.match(pgconf, /^archive_command = 'pgbackrest archive-push %p'$/m);
        assert.match(pgconf, /^restore_command = 'pgbackrest archive-get %f "%p"'$/m);
        assert.match(pgconf, /^archive_timeout = '60s'$/m);
        const pg = container(find(r, "StatefulSet"), "postgres");
        assert.strictEqual(env(pg, "PGBACKREST_STANZA").value, "shop-db");
        assert.strictEqual(env(pg, "PGBACKREST_CONFIG").value, "/etc/replicated-db/config/pgbackrest.conf");
        assert.strictEqual(env(pg, "RDB_BACKUP").value, "on");
        assert.strictEqual(env(pg, "RDB_RESTORE_FROM").value, "");
        // Credentials by reference only: never a literal in the pod spec or the ConfigMap.
        assert.deepStrictEqual(env(pg, "PGBACKREST_REPO1_S3_KEY").valueFrom, { secretKeyRef: { name: "s3-creds", key: "access-key-id" } });
        assert.deepStrictEqual(env(pg, "PGBACKREST_REPO1_S3_KEY_SECRET").valueFrom, { secretKeyRef: { name: "s3-creds", key: "secret-access-key" } });
        assert.ok(pg.env.every((e: any) => !/KEY|PASS/.test(e.name) || e.value === undefined));
        const s = settings(conf(r));
        assert.deepStrictEqual(
            [s["repo1-type"], s["repo1-path"], s["repo1-s3-bucket"], s["repo1-s3-endpoint"], s["repo1-storage-port"], s["repo1-s3-uri-style"], s["repo1-storage-verify-tls"]],
            ["s3", "/pgbackrest", "backups", "minio.storage", "9000", "path", "y"],
        );
        assert.deepStrictEqual([s["repo1-retention-full"], s["compress-type"], s["archive-push-queue-max"]], ["2", "zst", "2560MB"]);
        assert.match(conf(r), /^\[shop-db\]\npg1-path=\/var\/lib\/postgresql\/data\/pgdata\n/m);
        assert.doesNotMatch(conf(r), /cipher-pass|s3-key/);
        assert.ok(Object.keys(find(r, "ConfigMap", "db-scripts").data).includes("backup.sh"));
    });

    it("schedule full and differential backups as CronJobs that ask the primary over SQL, with no token and one key", async () => {
        const r = await renderComponent("db", { image: IMAGE, replicas: 2, backup: { ...S3, fullSchedule: "@weekly" } });
        const jobs = ofKind(r, "CronJob");
        assert.deepStrictEqual(jobs.map((j) => [j.metadata.name, j.spec.schedule]), [["db-backup-diff", "0 1 * * 1-6"], ["db-backup-full", "@weekly"]]);
        const full = find(r, "CronJob", "db-backup-full");
        assert.strictEqual(full.spec.concurrencyPolicy, "Forbid");
        assert.strictEqual(full.spec.timeZone, "Etc/UTC");
        assert.strictEqual(full.metadata.labels["app.kubernetes.io/component"], "backup-full");
        const pod = full.spec.jobTemplate.spec.template.spec;
        // No Kubernetes identity at all: no ServiceAccount of its own, no token, and no Role anywhere for backups.
        assert.strictEqual(pod.serviceAccountName, undefined);
        assert.strictEqual(pod.automountServiceAccountToken, false);
        assert.deepStrictEqual(ofKind(r, "Role").filter((x) => /backup/.test(x.metadata.name)), []);
        assert.deepStrictEqual(ofKind(r, "ServiceAccount").filter((x) => /backup/.test(x.metadata.name)), []);
        const c = pod.containers[0];
        assert.strictEqual(c.image, IMAGE);
        assert.deepStrictEqual(c.command, ["/bin/bash", "/etc/replicated-db/scripts/backup-job.sh", "full"]);
        assert.strictEqual(
            env(c, "RDB_BACKUP_HOSTS").value,
            ["db-0", "db-1", "db-2"].map((p) => `${p}.db-headless.default.svc.cluster.local`).join(","),
        );
        assert.strictEqual(env(c, "RDB_BACKUP_USER").value, "backup");
        assert.strictEqual(env(c, "RDB_TLS_CA").value, "/etc/replicated-db/tls/ca.crt");
        assert.strictEqual(c.securityContext.readOnlyRootFilesystem, true);
        // One key of the credentials Secret, and the CA without the server's key.
        const volumes = Object.fromEntries(pod.volumes.map((v: any) => [v.name, v]));
        assert.deepStrictEqual(volumes.secret.secret.items, [{ key: "backup-password", path: "backup-password" }]);
        assert.deepStrictEqual(volumes.tls.secret.items, [{ key: "ca.crt", path: "ca.crt" }]);
        // The database pods read the role's password; the Secret holds it.
        assert.ok(Object.keys(find(r, "Secret", "db-credentials").stringData).includes("backup-password"));
        assert.strictEqual(env(container(find(r, "StatefulSet"), "postgres"), "RDB_BACKUP_USER").value, "backup");
        const none = await renderComponent("db", { image: IMAGE, backup: { ...S3, diffSchedule: "" } });
        assert.deepStrictEqual(ofKind(none, "CronJob").map((j) => j.metadata.name), ["db-backup-full"]);
        // Without backups: no role, no key.
        const off = await renderComponent("db", { image: IMAGE });
        assert.ok(!Object.keys(find(off, "Secret", "db-credentials").stringData).includes("backup-password"));
        assert.strictEqual(container(find(off, "StatefulSet"), "postgres").env.find((e: any) => e.name === "RDB_BACKUP_USER"), undefined);
    });

    it("label the backup pods so that no selector of the database pods takes them for one", async () => {
        const r = await renderComponent("db", { image: IMAGE, failover: "patroni", backup: S3 });
        const jobPod = find(r, "CronJob", "db-backup-full").spec.jobTemplate.spec.template.metadata.labels;
        assert.strictEqual(jobPod["app.kubernetes.io/instance"], "db");
        assert.strictEqual(jobPod["app.kubernetes.io/component"], "backup-full");
        const matches = (selector: Record<string, string>) => Object.entries(selector).every(([k, v]) => jobPod[k] === v);
        const selectors = [
            find(r, "StatefulSet").spec.selector.matchLabels,
            find(r, "PodDisruptionBudget").spec.selector.matchLabels,
            ...ofKind(r, "Service").map((svc) => svc.spec.selector),
            JSON.parse(find(r, "ConfigMap", "db-settings").data["patroni.yml"]).kubernetes.labels,
        ];
        for (const selector of selectors) assert.ok(!matches(selector), `a backup pod matches ${JSON.stringify(selector)}`);
    });

    it("mount a ReadWriteMany repository claim in every pod, kept on delete", async () => {
        const r = await renderComponent("db", { image: IMAGE, backup: { enabled: true, repositoryType: "volume", volumeStorageClassName: "nfs" } });
        const claim = find(r, "PersistentVolumeClaim", "db-backups");
        assert.deepStrictEqual(claim.spec.accessModes, ["ReadWriteMany"]);
        assert.strictEqual(claim.spec.storageClassName, "nfs");
        assert.strictEqual(claim.spec.resources.requests.storage, "20Gi");
        const sts = find(r, "StatefulSet");
        assert.ok(sts.spec.template.spec.volumes.some((v: any) => v.persistentVolumeClaim?.claimName === "db-backups"));
        assert.ok(container(sts, "postgres").volumeMounts.some((m: any) => m.name === "backup-repository" && m.mountPath === "/var/lib/pgbackrest"));
        assert.strictEqual(settings(conf(r))["repo1-type"], "posix");
        assert.strictEqual(settings(conf(r))["repo1-path"], "/var/lib/pgbackrest/pgbackrest");
        assert.strictEqual(resource(r, "db-backup-repository").options.retainOnDelete, true);
        // A named claim is used, not created.
        const own = await renderComponent("db", { image: IMAGE, backup: { enabled: true, repositoryType: "volume", volumeClaimName: "shared-backups" } });
        assert.strictEqual(ofKind(own, "PersistentVolumeClaim").filter((c) => c.metadata.name === "db-backups").length, 0);
        assert.ok(find(own, "StatefulSet").spec.template.spec.volumes.some((v: any) => v.persistentVolumeClaim?.claimName === "shared-backups"));
    });

    it("encrypt the repository with a key from a Secret", async () => {
        const r = await renderComponent("db", { image: IMAGE, backup: { ...S3, encryptionSecret: "backup-key" } });
        assert.strictEqual(settings(conf(r))["repo1-cipher-type"], "aes-256-cbc");
        const pg = container(find(r, "StatefulSet"), "postgres");
        assert.deepStrictEqual(env(pg, "PGBACKREST_REPO1_CIPHER_PASS").valueFrom, { secretKeyRef: { name: "backup-key", key: "repository-key" } });
    });

    it("say where the backups go in the outputs, without credentials", async () => {
        const r = await renderComponent("db", { image: IMAGE, backup: S3 });
        assert.strictEqual(r.outputs.backupRepository, "s3://backups/pgbackrest (endpoint minio.storage:9000)");
        assert.strictEqual(r.outputs.backupStanza, "default-db");
        const off = await renderComponent("db", {});
        assert.strictEqual(off.outputs.backupRepository, "");
    });

    it("restore a new cluster from another's stanza: the pods learn the target, nothing is scheduled without backups", async () => {
        const r = await renderComponent("db2", {
            image: IMAGE,
            backup: { ...S3, enabled: false },
            restore: { fromClusterName: "db", targetType: "time", target: "2026-01-01 00:00:00+00" },
        });
        const pg = container(find(r, "StatefulSet"), "postgres");
        assert.strictEqual(env(pg, "RDB_RESTORE_FROM").value, "default-db");
        assert.strictEqual(env(pg, "RDB_RESTORE_TYPE").value, "time");
        assert.strictEqual(env(pg, "RDB_RESTORE_TARGET").value, "2026-01-01 00:00:00+00");
        assert.strictEqual(env(pg, "RDB_BACKUP").value, "off");
        assert.match(conf(r, "db2"), /^\[default-db2\]$/m);
        assert.match(conf(r, "db2"), /^\[default-db\]$/m);
        assert.strictEqual(ofKind(r, "CronJob").length, 0);
        assert.doesNotMatch(find(r, "ConfigMap", "db2-settings").data["postgresql.conf"], /archive_mode/);
        assert.ok(Object.keys(find(r, "ConfigMap", "db2-scripts").data).includes("restore.sh"));
    });

    it("give Patroni the same archive settings, restore_command as recovery_conf, and restore.sh as its bootstrap", async () => {
        const r = await renderComponent("db2", {
            image: IMAGE,
            failover: "patroni",
            backup: S3,
            restore: { fromClusterName: "db" },
        });
        const patroni = JSON.parse(find(r, "ConfigMap", "db2-settings").data["patroni.yml"]);
        assert.strictEqual(patroni.postgresql.parameters.archive_command, "pgbackrest archive-push %p");
        assert.strictEqual(patroni.bootstrap.dcs.postgresql.parameters.archive_mode, "on");
        assert.deepStrictEqual(patroni.postgresql.recovery_conf, { restore_command: 'pgbackrest archive-get %f "%p"' });
        assert.strictEqual(patroni.postgresql.parameters.restore_command, undefined);
        assert.strictEqual(patroni.bootstrap.method, "pgbackrest");
        assert.deepStrictEqual(patroni.bootstrap.pgbackrest, { command: "/bin/bash /etc/replicated-db/scripts/restore.sh", no_params: true, keep_existing_recovery_conf: false });
    });
});

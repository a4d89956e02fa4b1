/** failover: "patroni": the arguments it needs, and what the component renders for Patroni. */
import * as assert from "assert";
import { resolveArgs } from "../../components/resolve";
import { PRIMARY_ROLE, REPLICA_ROLE, ROLE_LABEL } from "../../components/naming";
import { pgHbaConf } from "../../components/engines/postgres/config";
import { patroniHbaLines } from "../../components/engines/postgres/topologies/patroni";
import { PATRONI_CONFIGMAP_SUFFIXES } from "../../components/engines/postgres/topologies/patroni";
import { patroniRoleLabel } from "../../components/engines/postgres/topologies/patroni/roleLabels";
import { LABELER_CONTAINER } from "../../components/engines/postgres/topologies/manual/labeler";
import { container, env, find, renderComponent } from "./helpers";

const IMAGE = "registry.example.com/postgres-patroni:17.6";
const PATRONI = { failover: "patroni", image: IMAGE };

describe("automated failover (Patroni)", () => {
    it("needs an image with Patroni, named by the setting it is missing", () => {
        assert.throws(() => resolveArgs("db", { failover: "patroni" }), /invalid image: "\(unset\)" \(allowed: an image with Patroni 3\.3 or newer when failover is "patroni"/);
        assert.strictEqual(resolveArgs("db", PATRONI).failover, "patroni");
        assert.strictEqual(resolveArgs("db").failover, "manual");
    });

    it("refuses a primaryOrdinal (Patroni elects the primary)", () => {
        assert.throws(() => resolveArgs("db", { ...PATRONI, primaryOrdinal: 1 }), /invalid primaryOrdinal: 1 \(allowed: 0 \(unset\) when failover is "patroni": Patroni elects the primary/);
    });

    it("runs Patroni in the database container, live through its REST API, ready from patroni.sh's state, with no labeler sidecar", async () => {
        const sts = find(await renderComponent("db", PATRONI), "StatefulSet");
        const names = sts.spec.template.spec.containers.map((c: any) => c.name);
        // The metrics exporter is the only other container (monitoring is on by default).
        assert.deepStrictEqual(names, ["postgres", "metrics-exporter"]);
        assert.ok(!names.includes(LABELER_CONTAINER));
        const pg = container(sts, "postgres");
        assert.strictEqual(pg.image, IMAGE);
        assert.deepStrictEqual(pg.command, ["/bin/bash", "/etc/replicated-db/scripts/patroni.sh"]);
        assert.deepStrictEqual(pg.ports.map((p: any) => [p.name, p.containerPort]), [["postgresql", 5432], ["patroni", 8008]]);
        // Readiness only reads the state file patroni.sh writes (ready: the primary or a streaming replica),
        // with the script-driven mode's timings; Patroni's /readiness would pass a replica that does not stream.
        assert.deepStrictEqual(pg.readinessProbe.exec.command, ["/bin/bash", "/etc/replicated-db/scripts/probe.sh", "readiness"]);
        assert.strictEqual(pg.readinessProbe.httpGet, undefined);
        assert.deepStrictEqual([pg.readinessProbe.periodSeconds, pg.readinessProbe.timeoutSeconds, pg.readinessProbe.failureThreshold], [5, 2, 3]);
        assert.deepStrictEqual(pg.livenessProbe.httpGet, { path: "/liveness", port: "patroni", scheme: "HTTPS" });
        assert.strictEqual(pg.startupProbe, undefined);
        assert.strictEqual(env(pg, "RDB_PATRONI_PORT").value, "8008");
        // Patroni talks to the API itself: the token is mounted into this container, still not automounted.
        assert.ok(pg.volumeMounts.some((m: any) => m.name === "kube-api-access" && m.readOnly));
        assert.strictEqual(sts.spec.template.spec.automountServiceAccountToken, false);
        // No password in the pod's definition: patroni.sh reads them from the mounted Secret.
        assert.ok(!pg.env.some((e: any) => /PASSWORD/.test(e.name)));
    });

    it("grants Patroni its own ConfigMaps and pods by name, with only the verbs its Kubernetes DCS calls", async () => {
        const r = await renderComponent("db", { ...PATRONI, replicas: 2 });
        const role = find(r, "Role", "db-patroni");
        assert.deepStrictEqual(role.rules, [
            { apiGroups: [""], resources: ["configmaps"], verbs: ["create", "list", "watch"] },
            { apiGroups: [""], resources: ["configmaps"], resourceNames: ["db-leader", "db-config", "db-failover", "db-sync"], verbs: ["get", "patch"] },
            { apiGroups: [""], resources: ["pods"], verbs: ["get", "list", "watch"] },
            { apiGroups: [""], resources: ["pods"], resourceNames: ["db-0", "db-1", "db-2"], verbs: ["patch"] },
        ]);
        // No verb that deletes or replaces anything, and nothing outside the namespace.
        assert.ok(role.rules.every((x: any) => !x.verbs.some((v: string) => ["*", "delete", "deletecollection", "update"].includes(v))));
        assert.deepStrictEqual(find(r, "RoleBinding", "db-patroni").roleRef.name, "db-patroni");
        assert.strictEqual(r.manifests.filter((m) => m.kind === "ClusterRole").length, 0);
    });

    it("re-renders the Patroni Role with the new pods' names on a scale-up, under the StatefulSet's scope", async () => {
        const r = await renderComponent("orders", { ...PATRONI, clusterName: "pg", replicas: 4 });
        const role = find(r, "Role", "pg-patroni");
        assert.deepStrictEqual(role.rules[3].resourceNames, ["pg-0", "pg-1", "pg-2", "pg-3", "pg-4"]);
        assert.deepStrictEqual(role.rules[1].resourceNames, ["pg-leader", "pg-config", "pg-failover", "pg-sync"]);
        // The ConfigMap names follow Patroni's scope: the StatefulSet's name in patroni.yml.
        assert.match(find(r, "ConfigMap", "pg-settings").data["patroni.yml"], /"scope": "pg",/);
    });

    it("labels pods as Patroni's Kubernetes store does with the rendered values (the harness's Services use the same mapping)", () => {
        const cases: [string | undefined, string | undefined, string | undefined][] = [
            ["primary", "running", PRIMARY_ROLE],
            ["master", "running", PRIMARY_ROLE],
            ["standby_leader", "running", REPLICA_ROLE],
            ["replica", "running", REPLICA_ROLE],
            ["replica", "starting", undefined],
            ["replica", "stopped", undefined],
            ["demoted", "running", "demoted"],
            [undefined, undefined, undefined],
        ];
        for (const [role, state, label] of cases) assert.strictEqual(patroniRoleLabel(role, state), label, `${role}/${state}`);
    });

    it("tells patroni.sh the pod's grace period, within which it bounds a stop", async () => {
        const sts = find(await renderComponent("db", PATRONI), "StatefulSet");
        assert.strictEqual(env(container(sts, "postgres"), "RDB_TERMINATION_GRACE_SECONDS").value, String(sts.spec.template.spec.terminationGracePeriodSeconds));
    });

    it("renders Patroni's configuration: members are the StatefulSet's pods, the role label drives the Services", async () => {
        const r = await renderComponent("db", { ...PATRONI, namespace: "shop", replicas: 3, parameters: { work_mem: "16MB" } });
        const config = JSON.parse(find(r, "ConfigMap", "db-settings").data["patroni.yml"]);
        const sts = find(r, "StatefulSet");
        const podLabels = sts.spec.template.metadata.labels;
        assert.strictEqual(config.scope, "db");
        const k8s = config.kubernetes;
        assert.strictEqual(k8s.namespace, "shop");
        // Patroni copies the top-level namespace, name, scope, loop_wait, ttl and retry_timeout over its store's
        // section (patroni/dcs/__init__.py get_dcs): a top-level namespace would be the Kubernetes namespace it
        // asks the API for (it was "/replicated-db/", and every call was refused; found on the real API server).
        const propagated = { ...k8s, ...Object.fromEntries(["namespace", "name", "scope", "loop_wait", "ttl", "retry_timeout"].filter((p) => p in config).map((p) => [p, config[p]])) };
        assert.strictEqual(propagated.namespace, "shop");
        assert.strictEqual(k8s.use_endpoints, false);
        // Patroni's member selector (labels + scope_label=scope) matches exactly the StatefulSet's pods.
        for (const [k, v] of Object.entries({ ...k8s.labels, [k8s.scope_label]: config.scope })) assert.strictEqual(podLabels[k], v, k);
        assert.strictEqual(k8s.role_label, ROLE_LABEL);
        assert.strictEqual(k8s.leader_label_value, PRIMARY_ROLE);
        assert.strictEqual(k8s.follower_label_value, REPLICA_ROLE);
        // Patroni's default would put a standby cluster's leader (read-only) behind the read-write Service.
        assert.strictEqual(k8s.standby_leader_label_value, REPLICA_ROLE);
        assert.strictEqual(find(r, "Service", "db-rw").spec.selector[ROLE_LABEL], PRIMARY_ROLE);
        assert.strictEqual(find(r, "Service", "db-ro").spec.selector[ROLE_LABEL], REPLICA_ROLE);
        const pg = config.postgresql;
        assert.strictEqual(pg.data_dir, env(container(sts, "postgres"), "PGDATA").value);
        assert.strictEqual(pg.use_unix_socket, true);
        assert.strictEqual(pg.parameters.work_mem, "16MB");
        assert.strictEqual(pg.parameters.wal_log_hints, "on");
        assert.strictEqual(config.bootstrap.dcs.postgresql.use_pg_rewind, true);
        assert.ok(config.bootstrap.initdb.includes("data-checksums"));
        assert.deepStrictEqual([pg.remove_data_directory_on_rewind_failure, pg.remove_data_directory_on_diverged_timelines], [false, false]);
        assert.deepStrictEqual(pg.authentication.replication, { username: "replicator", sslmode: "verify-full", sslrootcert: "/etc/replicated-db/tls/ca.crt" });
        assert.ok(pg.pgpass.startsWith("/run/replicated-db/"));
        assert.deepStrictEqual(config.bootstrap.dcs.synchronous_mode, false);
    });

    it("ships the rendered pg_hba.conf beside patroni.yml and points the server's hba_file at its gated copy in pod memory", async () => {
        const r = await renderComponent("db", { ...PATRONI, replicationUser: "streamer" });
        const data = find(r, "ConfigMap", "db-settings").data;
        const config = JSON.parse(data["patroni.yml"]);
        const resolved = resolveArgs("db", { ...PATRONI, replicationUser: "streamer" });
        assert.strictEqual(data["pg_hba.conf"], pgHbaConf(resolved, patroniHbaLines(resolved)));
        assert.match(data["pg_hba.conf"], /^hostssl replication streamer all scram-sha-256$/m);
        assert.match(data["pg_hba.conf"], /^local all all peer$/m);
        assert.doesNotMatch(data["pg_hba.conf"], /trust/);
        const run = env(container(find(r, "StatefulSet"), "postgres"), "RDB_RUN_DIR").value;
        assert.strictEqual(config.postgresql.parameters.hba_file, `${run}/pg_hba.conf`);
        // Patroni would write its own pg_hba.conf from a list; the file is patroni.sh's alone.
        assert.ok(!("pg_hba" in config.postgresql), "patroni.yml has a pg_hba list");
        assert.ok(!("pg_hba" in config.bootstrap), "patroni.yml's bootstrap has a pg_hba list");
        // A per-pod path: it must not be in the cluster-wide settings that the first primary stores.
        assert.ok(!("hba_file" in config.bootstrap.dcs.postgresql.parameters));
    });

    it("turns synchronousReplicas into Patroni's strict synchronous mode and leaves the standby names to it", async () => {
        const r = await renderComponent("db", { ...PATRONI, replicas: 3, synchronousReplicas: 2 });
        const config = JSON.parse(find(r, "ConfigMap", "db-settings").data["patroni.yml"]);
        const dcs = config.bootstrap.dcs;
        assert.deepStrictEqual([dcs.synchronous_mode, dcs.synchronous_mode_strict, dcs.synchronous_node_count], [true, true, 2]);
        for (const params of [dcs.postgresql.parameters, config.postgresql.parameters]) {
            assert.ok(!("synchronous_standby_names" in params));
        }
    });

    it("ships the Patroni scripts, rolls the pods when Patroni's configuration changes, and holds no password", async () => {
        const a = await renderComponent("db", PATRONI);
        const b = await renderComponent("db", { ...PATRONI, parameters: { work_mem: "16MB" } });
        const scripts = find(a, "ConfigMap", "db-scripts").data;
        assert.ok(scripts["patroni.sh"].includes("patroni \"$CONF_DIR\" &"));
        assert.ok(scripts["patroni-callback.sh"].includes("on_role_change"));
        assert.ok(scripts["patroni.sh"].includes(". \"$RDB_SCRIPTS_DIR/patroni-gate.sh\""));
        assert.ok("gate.sh" in scripts && "patroni-gate.sh" in scripts && "probe.sh" in scripts && "state.sh" in scripts);
        const checksum = (r: typeof a) => find(r, "StatefulSet").spec.template.metadata.annotations["replicated-db.io/config-checksum"];
        assert.notStrictEqual(checksum(a), checksum(b));
        const yml = find(a, "ConfigMap", "db-settings").data["patroni.yml"];
        const secret = find(a, "Secret", "db-credentials");
        for (const v of Object.values<string>({ ...(secret.stringData ?? {}), ...(secret.data ?? {}) })) {
            assert.ok(!yml.includes(v) && !yml.includes(Buffer.from(v, "base64").toString()), "a password is in patroni.yml");
        }
    });

    it("names none of the component's ConfigMaps as Patroni names its own (Patroni would take it over)", async () => {
        const r = await renderComponent("db", PATRONI);
        const patronis = PATRONI_CONFIGMAP_SUFFIXES.map((suffix) => `db-${suffix}`);
        const ours = r.manifests.filter((m) => m.kind === "ConfigMap").map((m) => m.metadata.name);
        assert.deepStrictEqual(ours.sort(), ["db-alert-rules", "db-scripts", "db-settings"]);
        assert.deepStrictEqual(ours.filter((n) => patronis.includes(n)), []);
    });
});

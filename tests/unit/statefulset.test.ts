/** The StatefulSet and its pods: roles by ordinal, probes, security, scheduling, disruption budget. */
import * as assert from "assert";
import { STATIC_ARGS, container, env, find, renderComponent } from "./helpers";

describe("the StatefulSet", () => {
    it("runs replicas + 1 pods under a fixed name, in parallel, with the headless Service", async () => {
        const r = await renderComponent("orders", { replicas: 3 });
        const sts = find(r, "StatefulSet");
        assert.strictEqual(sts.metadata.name, "orders");
        assert.strictEqual(sts.spec.replicas, 4);
        assert.strictEqual(sts.spec.serviceName, "orders-headless");
        assert.strictEqual(sts.spec.podManagementPolicy, "Parallel");
        assert.deepStrictEqual(sts.spec.selector.matchLabels, { "app.kubernetes.io/name": "postgresql", "app.kubernetes.io/instance": "orders" });
        const labels = sts.spec.template.metadata.labels;
        for (const [k, v] of Object.entries(sts.spec.selector.matchLabels)) {
            assert.strictEqual(labels[k], v);
        }
    });

    it("names the primary by its pod DNS name, never an IP", async () => {
        const sts = find(await renderComponent("db", { namespace: "data", clusterDomain: "example.internal" }), "StatefulSet");
        const pg = container(sts, "postgres");
        assert.strictEqual(env(pg, "RDB_CLUSTER").value + "-0" + env(pg, "RDB_POD_DNS_SUFFIX").value, "db-0.db-headless.data.svc.example.internal");
        assert.ok(!JSON.stringify(pg.env).match(/\b\d+\.\d+\.\d+\.\d+\b/), "no IP address anywhere in the env");
        assert.deepStrictEqual(env(pg, "POD_NAME").valueFrom, { fieldRef: { fieldPath: "metadata.name" } });
        assert.strictEqual(env(pg, "RDB_ALLOW_MAJOR_CHANGE").value, "false");
        // A replica that is not streaming refuses application connections (docs/pod-contract.md).
        assert.strictEqual(env(pg, "RDB_REPLICA_GATE").value, "on");
    });

    it("runs the ConfigMap's scripts, with role-aware probes for startup, readiness and liveness", async () => {
        const r = await renderComponent("db");
        const pg = container(find(r, "StatefulSet"), "postgres");
        const scripts = find(r, "ConfigMap", "db-scripts").data;
        assert.deepStrictEqual(pg.command, ["/bin/bash", "/etc/replicated-db/scripts/entrypoint.sh"]);
        const timing: Record<string, [number, number]> = { startup: [10, 360], readiness: [5, 3], liveness: [10, 6] };
        for (const [kind, [period, failures]] of Object.entries(timing)) {
            const probe = pg[`${kind}Probe`];
            assert.deepStrictEqual(probe.exec.command, ["/bin/bash", "/etc/replicated-db/scripts/probe.sh", kind]);
            // The probes only read a state file: 2 s is ample; periods and thresholds are unchanged.
            assert.deepStrictEqual([probe.timeoutSeconds, probe.periodSeconds, probe.failureThreshold], [2, period, failures], kind);
        }
        // A clone of a big primary must not be killed by liveness before it is done.
        assert.ok(pg.startupProbe.periodSeconds * pg.startupProbe.failureThreshold >= 3600);
        for (const f of ["entrypoint.sh", "probe.sh", "role-labeler.sh", "lib.sh", "server.sh", "peers.sh", "config.sh", "state.sh"]) {
            assert.ok(scripts[f]?.startsWith("#!"), `${f} missing from the scripts ConfigMap`);
        }
    });

    it("applies the restricted security context to the pod and every container", async () => {
        const spec = find(await renderComponent("db"), "StatefulSet").spec.template.spec;
        assert.strictEqual(spec.securityContext.runAsNonRoot, true);
        assert.strictEqual(spec.securityContext.runAsUser, 999);
        assert.strictEqual(spec.securityContext.fsGroup, 999);
        assert.deepStrictEqual(spec.securityContext.seccompProfile, { type: "RuntimeDefault" });
        assert.strictEqual(spec.initContainers, undefined);
        assert.strictEqual(spec.containers.length, 3);
        for (const c of spec.containers) {
            assert.strictEqual(c.securityContext.allowPrivilegeEscalation, false, c.name);
            assert.deepStrictEqual(c.securityContext.capabilities, { drop: ["ALL"] }, c.name);
            assert.strictEqual(c.securityContext.runAsNonRoot, true, c.name);
            assert.deepStrictEqual(c.securityContext.seccompProfile, { type: "RuntimeDefault" }, c.name);
        }
    });

    it("hands a hostPath volume to the server's uid with a CHOWN-only init container", async () => {
        const spec = find(await renderComponent("db", STATIC_ARGS), "StatefulSet").spec.template.spec;
        assert.strictEqual(spec.initContainers.length, 1);
        const init = spec.initContainers[0];
        assert.deepStrictEqual(init.command, ["chown", "999:999", "/var/lib/postgresql/data"]);
        assert.deepStrictEqual(init.securityContext.capabilities, { drop: ["ALL"], add: ["CHOWN"] });
        assert.strictEqual(init.securityContext.allowPrivilegeEscalation, false);
    });

    it("gives the API token to the labeler sidecar only", async () => {
        const spec = find(await renderComponent("db"), "StatefulSet").spec.template.spec;
        assert.strictEqual(spec.automountServiceAccountToken, false);
        assert.strictEqual(spec.serviceAccountName, "db");
        const mountsOf = (name: string) => spec.containers.find((c: any) => c.name === name).volumeMounts.map((m: any) => m.name);
        assert.ok(mountsOf("role-labeler").includes("kube-api-access"));
        assert.ok(!mountsOf("postgres").includes("kube-api-access"));
    });

    it("restarts a hung role-labeler: a liveness probe reads the heartbeat its loop writes to its own memory volume", async () => {
        const r = await renderComponent("db");
        const spec = find(r, "StatefulSet").spec.template.spec;
        const labeler = container(find(r, "StatefulSet"), "role-labeler");
        assert.deepStrictEqual(labeler.livenessProbe, {
            exec: { command: ["/bin/sh", "/etc/replicated-db/scripts/role-labeler-alive.sh"] },
            timeoutSeconds: 2,
            periodSeconds: 10,
            failureThreshold: 3,
        });
        assert.strictEqual(env(labeler, "RDB_LABELER_HEARTBEAT").value, "/run/role-labeler/heartbeat");
        // One loop takes at most the interval plus curl's 10 s: the probe allows several before it fails.
        const maxAge = Number(env(labeler, "RDB_LABELER_MAX_AGE").value);
        assert.ok(maxAge >= 3 * (Number(env(labeler, "RDB_LABEL_INTERVAL").value) + 10), `max age ${maxAge}`);
        assert.ok(labeler.volumeMounts.some((m: any) => m.name === "labeler-state" && m.mountPath === "/run/role-labeler" && !m.readOnly));
        assert.deepStrictEqual(spec.volumes.find((v: any) => v.name === "labeler-state"), { name: "labeler-state", emptyDir: { medium: "Memory", sizeLimit: "1Mi" } });
        // Its own: the database container does not mount it, and the labeler still writes nothing of the pod's.
        assert.ok(!container(find(r, "StatefulSet"), "postgres").volumeMounts.some((m: any) => m.name === "labeler-state"));
        assert.ok(labeler.volumeMounts.filter((m: any) => m.name !== "labeler-state").every((m: any) => m.readOnly));
        assert.ok(find(r, "ConfigMap", "db-scripts").data["role-labeler-alive.sh"].startsWith("#!/bin/sh"));
    });

    it("sets resources, soft placement and the config checksum that rolls the pods", async () => {
        const a = find(await renderComponent("db", { resources: { cpuLimit: "2", memoryLimit: "2Gi" } }), "StatefulSet");
        const b = find(await renderComponent("db", { parameters: { work_mem: "16MB" } }), "StatefulSet");
        const pg = container(a, "postgres");
        assert.deepStrictEqual(pg.resources, { requests: { cpu: "250m", memory: "512Mi" }, limits: { cpu: "2", memory: "2Gi" } });
        // Soft by default: a single-node cluster schedules every pod; more nodes and zones spread them.
        const selector = { matchLabels: { "app.kubernetes.io/name": "postgresql", "app.kubernetes.io/instance": "db" } };
        assert.deepStrictEqual(a.spec.template.spec.affinity, {
            podAntiAffinity: {
                preferredDuringSchedulingIgnoredDuringExecution: [
                    { weight: 100, podAffinityTerm: { topologyKey: "kubernetes.io/hostname", labelSelector: selector } },
                ],
            },
        });
        assert.deepStrictEqual(a.spec.template.spec.topologySpreadConstraints, [
            { maxSkew: 1, topologyKey: "topology.kubernetes.io/zone", whenUnsatisfiable: "ScheduleAnyway", labelSelector: selector },
        ]);
        const checksum = (s: any) => s.spec.template.metadata.annotations["replicated-db.io/config-checksum"];
        assert.match(checksum(a), /^[0-9a-f]{16}$/);
        assert.notStrictEqual(checksum(a), checksum(b));
    });

    it("with podAntiAffinity required, puts each pod on its own node and keeps the zones within one pod", async () => {
        const spec = find(await renderComponent("db", { replicas: 3, podAntiAffinity: "required" }), "StatefulSet").spec.template.spec;
        const selector = { matchLabels: { "app.kubernetes.io/name": "postgresql", "app.kubernetes.io/instance": "db" } };
        assert.deepStrictEqual(spec.affinity, {
            podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [{ topologyKey: "kubernetes.io/hostname", labelSelector: selector }] },
        });
        assert.deepStrictEqual(spec.topologySpreadConstraints, [
            { maxSkew: 1, topologyKey: "topology.kubernetes.io/zone", whenUnsatisfiable: "DoNotSchedule", labelSelector: selector },
        ]);
    });

    it("does not roll the pods when only the replica count or the primary changes (both are read live)", async () => {
        const render = async (replicas: number, primaryOrdinal: number) => {
            const r = await renderComponent("db", { replicas, primaryOrdinal });
            return { sts: find(r, "StatefulSet"), config: find(r, "ConfigMap", "db-settings").data };
        };
        const a = await render(1, 0);
        const b = await render(3, 2);
        assert.deepStrictEqual(a.sts.spec.template, { ...b.sts.spec.template });
        assert.strictEqual(b.config["primary-ordinal"], "2");
        assert.strictEqual(b.config["pod-count"], "4");
    });

    it("has a PodDisruptionBudget that lets one pod go at a time and never holds a drain for an unhealthy pod", async () => {
        const pdb = find(await renderComponent("db"), "PodDisruptionBudget");
        assert.strictEqual(pdb.spec.maxUnavailable, 1);
        assert.strictEqual(pdb.spec.unhealthyPodEvictionPolicy, "AlwaysAllow");
        assert.deepStrictEqual(pdb.spec.selector.matchLabels, { "app.kubernetes.io/name": "postgresql", "app.kubernetes.io/instance": "db" });
    });
});

/**
 * The Patroni topology (`failover: "patroni"`): Patroni, in the database container, decides the primary. It
 * holds a leader lock through the Kubernetes API, promotes the most advanced healthy replica when the
 * primary is gone, rewinds a returning old primary and labels the pods for the Services itself, so there is
 * no sidecar. Scripts `common/` + `patroni/`; its configuration is `patroni.yml` (./config.ts).
 */
import { ArgError } from "../../../../validation";
import { ResolvedArgs } from "../../../../args";
import { patroniStandbyFile } from "./standby";
import { Container, EngineContext } from "../../../../core/engine";
import { PolicyRule, Topology } from "../../../../core/topology";
import { PORT } from "../../connection";
import { CONTAINER_NAME, PGDATA, SOCKET_DIR, baseEnv } from "../../pod";
import * as path from "path";
import { topologyScripts } from "../../commonScripts";
import { pgHbaConf } from "../../config";
import { HBA_CONFIG_FILE, PATRONI_API_SECRET_KEY, PATRONI_CONFIG_FILE, PATRONI_DYNAMIC_FILE, PATRONI_PORT, dynamicSettingsFile, patroniConfigFile } from "./config";
import { FENCE_AFTER_ENV, FENCE_AFTER_FILE, fenceAfterSeconds } from "./timing";

/** A probe that only reads the state file patroni.sh writes once a second, so 2 s is ample. */
const PROBE_TIMEOUT_SECONDS = 2;

/** The database container with Patroni: readiness reads patroni.sh's state file, Patroni's REST API
 * answers liveness. */
function container(ctx: EngineContext): Container {
    const { args, paths } = ctx;
    // The kubelet does not verify the certificate; it only needs to speak the REST API's protocol.
    const http = (path: string) => ({ httpGet: { path, port: "patroni", scheme: args.tls.enabled ? "HTTPS" : "HTTP" } });
    const ready = { exec: { command: ["/bin/bash", `${paths.scripts}/probe.sh`, "readiness"] }, timeoutSeconds: PROBE_TIMEOUT_SECONDS };
    return {
        name: CONTAINER_NAME,
        image: args.image,
        command: ["/bin/bash", `${paths.scripts}/patroni.sh`],
        ports: [
            { name: "postgresql", containerPort: PORT, protocol: "TCP" },
            { name: "patroni", containerPort: PATRONI_PORT, protocol: "TCP" },
        ],
        env: baseEnv(ctx, [
            { name: "RDB_PATRONI_PORT", value: String(PATRONI_PORT) },
            // The mode's own passwords (Topology.secretKeys), accepted from the Secret with the roles' (lib.sh).
            { name: "RDB_MODE_SECRET_KEYS", value: PATRONI_API_SECRET_KEY },
            // The fence's bound follows the timings (components/engines/postgres/topologies/patroni/resolve.ts): it must kill a hung
            // primary before its leader lock can expire. An env var, so a change of the timings rolls the pods.
            { name: FENCE_AFTER_ENV, value: String(fenceAfterSeconds(args.patroni)) },
        ]),
        // Ready: the primary, or a replica that streams (Patroni's /readiness would also pass a replica that
        // has lost its primary, whose data may be old); the same rule and timings as the script-driven mode.
        readinessProbe: { ...ready, periodSeconds: 5, failureThreshold: 3 },
        // Patroni's own liveness fails only when its loop has stalled beyond the leader lock's ttl; a long
        // clone keeps the loop running, so no startup probe is needed.
        livenessProbe: { ...http("/liveness"), initialDelaySeconds: 10, periodSeconds: 10, timeoutSeconds: 5, failureThreshold: 6 },
    };
}

/**
 * Patroni's own replication connection to its server (the timeline of a replica that does not stream, which a
 * failover weighs) comes through the pod-private socket: over TCP it would dial localhost, which no certificate
 * names, and fail verify-full. "all" does not match replication.
 */
export function patroniHbaLines(args: ResolvedArgs): string[] {
    return [`local replication ${args.replicationUser} scram-sha-256`];
}

export const patroni: Topology = {
    name: "patroni",
    rbacSuffix: "patroni",
    // Patroni talks to the Kubernetes API itself (leader lock, member list, role labels).
    databaseApiToken: true,
    // Members ask each other's REST API before a promotion (is anyone more advanced?); nobody else needs it.
    internalPorts: [{ name: "patroni", port: PATRONI_PORT, description: "Patroni's REST API", metricsPath: "/metrics" }],
    // The REST API's unsafe endpoints (switchover, restart, reinit) ask for a password of their own: whoever
    // holds it (patronictl, an operator) can move the primary, not log into the database as its superuser.
    secretKeys: [PATRONI_API_SECRET_KEY],
    validate(args, given, setting) {
        const mode = `${setting("failover")} is "patroni"`;
        if (given.image === undefined) {
            throw new ArgError(
                setting("image"),
                "(unset)",
                `an image with Patroni 3.3 or newer when ${mode}: the default image has no Patroni ` +
                    "(images/postgres/Dockerfile builds one from it)",
            );
        }
        if (args.primaryOrdinal !== 0) {
            throw new ArgError(setting("primaryOrdinal"), args.primaryOrdinal, `0 (unset) when ${mode}: Patroni elects the primary; switch over with patronictl`);
        }
    },
    scripts: () => topologyScripts(path.join(__dirname, "scripts")),
    configFiles: (ctx) => ({
        [PATRONI_CONFIG_FILE]: patroniConfigFile(ctx, PGDATA, SOCKET_DIR),
        [PATRONI_DYNAMIC_FILE]: dynamicSettingsFile(ctx),
        [FENCE_AFTER_FILE]: `${fenceAfterSeconds(ctx.args.patroni)}\n`,
        [HBA_CONFIG_FILE]: pgHbaConf(ctx.args, patroniHbaLines(ctx.args)),
    }),
    // A standby cluster's standby_cluster setting, read live (a promotion is a config change, not a restart).
    pod: (ctx) => ({ liveFiles: patroniStandbyFile(ctx.args, ctx.paths.scripts) }),
    container,
    sidecars: () => [],
    rbacRules: (ctx) => patroniRules(ctx),
};

/**
 * The suffixes of the ConfigMaps Patroni's Kubernetes DCS keeps with `use_endpoints: false` and
 * `scope: <statefulSet>` (./config.ts). Verified in patroni/patroni (v3.3.0 and v4.1.4 alike; lines of commit
 * de6b22c8): patroni/dcs/__init__.py:1518-1526 names the keys `config`, `leader`, `failover`, `sync`
 * (`initialize`, `history`, `status` and `failsafe` are annotations on the `config` and `leader` objects, not
 * objects of their own); :1538 makes the base path `/<namespace>/<scope>`, and patroni/dcs/kubernetes.py:767
 * passes namespace '' to it, so kubernetes.py:813 (`client_path(path)[1:].replace('/', '-')`) yields
 * `<scope>-leader` (:817, the whole name without endpoints), `<scope>-config`, `<scope>-failover`, `<scope>-sync`.
 */
export const PATRONI_CONFIGMAP_SUFFIXES = ["leader", "config", "failover", "sync"] as const;

/**
 * What Patroni's Kubernetes DCS calls (patroni/dcs/kubernetes.py, commit de6b22c8), and nothing more:
 * - ConfigMaps: created on first use (:1115 `create_namespaced_kind`: create cannot be limited by name), read
 *   by name (:1217, :1323 `read_namespaced_kind`), patched by name (:1112 `patch_namespaced_kind`), listed and
 *   watched by label selector (:803-805, the ObjectCache's list and `watch=True`, :624-626). Patroni never
 *   replaces (PUT) or deletes a single object; only `patronictl remove` deletes them, as a collection (:1432),
 *   which this Role does not grant: an operator removes a cluster with their own credentials.
 * - Pods: listed and watched by label selector (:799-801), and each member patches its own pod's labels and
 *   status annotation (:1399 `patch_namespaced_pod`), so patch is limited to this StatefulSet's pod names.
 *   Those names come from the plan: a scale-up re-renders this Role with the new pods' names. List and watch
 *   cannot be limited by name; get is granted beside them, which reveals nothing list does not.
 */
export function patroniRules(ctx: EngineContext): PolicyRule[] {
    const scope = ctx.names.statefulSet;
    return [
        { apiGroups: [""], resources: ["configmaps"], verbs: ["create", "list", "watch"] },
        {
            apiGroups: [""],
            resources: ["configmaps"],
            resourceNames: PATRONI_CONFIGMAP_SUFFIXES.map((s) => `${scope}-${s}`),
            verbs: ["get", "patch"],
        },
        { apiGroups: [""], resources: ["pods"], verbs: ["get", "list", "watch"] },
        { apiGroups: [""], resources: ["pods"], resourceNames: ctx.plan.pods.map((p) => p.name), verbs: ["patch"] },
    ];
}

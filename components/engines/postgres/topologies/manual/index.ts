/**
 * The manual topology (`failover: "manual"`, the default): the config chooses the primary. The pod whose
 * ordinal is in the config ConfigMap's `primary-ordinal` (the `primaryOrdinal` arg) is the primary; our own
 * entrypoint and probes (scripts `common/` + `manual/`) start, switch over and rejoin the servers, and the
 * role-labeler sidecar moves the role labels that the Services select on.
 */
import { Container, EngineContext } from "../../../../core/engine";
import { Topology } from "../../../../core/topology";
import { pgHbaConf, postgresqlConf } from "../../config";
import { PORT } from "../../connection";
import { CONTAINER_NAME, baseEnv } from "../../pod";
import * as path from "path";
import { topologyScripts } from "../../commonScripts";
import { labeler } from "./labeler";
import { TLS_DIR } from "../../../../tls/files";

/**
 * Probes only observe: they read a state file that a long-running process in the container keeps up to
 * date, so 2 s is ample, and a probe that takes longer is the symptom of a stuck pod.
 */
const PROBE_TIMEOUT_SECONDS = 2;

function probe(kind: string, ctx: EngineContext) {
    return { exec: { command: ["/bin/bash", `${ctx.paths.scripts}/probe.sh`, kind] }, timeoutSeconds: PROBE_TIMEOUT_SECONDS };
}

function container(ctx: EngineContext): Container {
    const { args, paths } = ctx;
    return {
        name: CONTAINER_NAME,
        image: args.image,
        command: ["/bin/bash", `${paths.scripts}/entrypoint.sh`],
        ports: [{ name: "postgresql", containerPort: PORT, protocol: "TCP" }],
        env: baseEnv(ctx, [
            { name: "RDB_LISTEN_ADDRESSES", value: "*" },
            { name: "RDB_ALLOW_MAJOR_CHANGE", value: String(args.allowMajorVersionChange) },
            // A replica that is not streaming refuses application connections (docs/pod-contract.md).
            { name: "RDB_REPLICA_GATE", value: "on" },
            // A new replica copies a caught-up replica rather than the primary (clone-peer.sh).
            { name: "RDB_CLONE_FROM_REPLICAS", value: args.cloneFromReplicas ? "on" : "off" },
        ]),
        // A clone of a large primary takes long: the startup probe holds the other probes off for up
        // to an hour instead of letting liveness kill a pod that is still copying.
        startupProbe: { ...probe("startup", ctx), periodSeconds: 10, failureThreshold: 360 },
        readinessProbe: { ...probe("readiness", ctx), periodSeconds: 5, failureThreshold: 3 },
        livenessProbe: { ...probe("liveness", ctx), periodSeconds: 10, failureThreshold: 6 },
    };
}

export const manual: Topology = {
    name: "manual",
    rbacSuffix: "labeler",
    secretKeys: [],
    databaseApiToken: false,
    // The pods reach each other on the database port only (streaming, pg_rewind).
    internalPorts: [],
    // primaryOrdinal is checked with the other args (it is within the pods); nothing else is specific.
    validate: () => undefined,
    scripts: () => topologyScripts(path.join(__dirname, "scripts")),
    configFiles: (ctx) => ({ "postgresql.conf": postgresqlConf(ctx.args, TLS_DIR), "pg_hba.conf": pgHbaConf(ctx.args) }),
    pod: () => ({}),
    container,
    sidecars: (ctx) => [labeler(ctx)],
    // The labeler reads and labels its own pod: get and patch on this StatefulSet's pods by name, nothing else.
    rbacRules: (ctx) => [
        {
            apiGroups: [""],
            resources: ["pods"],
            resourceNames: ctx.plan.pods.map((p) => p.name),
            verbs: ["get", "patch"],
        },
    ],
};

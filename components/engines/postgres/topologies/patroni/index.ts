/**
 * The Patroni topology (`failover: "patroni"`): Patroni, in the database container, decides the primary. It
 * holds a leader lock through the Kubernetes API, promotes the most advanced healthy replica when the
 * primary is gone, rewinds a returning old primary and labels the pods for the Services itself, so there is
 * no sidecar. Scripts `common/` + `patroni/`; its configuration is `patroni.yml` (./config.ts).
 */
import { ArgError } from "../../../../validation";
import { Container, EngineContext } from "../../../engine";
import { PolicyRule, Topology } from "../../../topology";
import { PORT } from "../../connection";
import { CONTAINER_NAME, PGDATA, SOCKET_DIR, baseEnv } from "../../pod";
import { scriptsOf } from "../../scriptFolders";
import { PATRONI_CONFIG_FILE, PATRONI_PORT, patroniConfigFile } from "./config";

/** The database container with Patroni: Patroni's REST API answers the probes. */
function container(ctx: EngineContext): Container {
    const { args, paths } = ctx;
    const http = (path: string) => ({ httpGet: { path, port: "patroni", scheme: "HTTP" } });
    return {
        name: CONTAINER_NAME,
        image: args.image,
        command: ["/bin/bash", `${paths.scripts}/patroni.sh`],
        ports: [
            { name: "postgresql", containerPort: PORT, protocol: "TCP" },
            { name: "patroni", containerPort: PATRONI_PORT, protocol: "TCP" },
        ],
        env: baseEnv(ctx, [{ name: "RDB_PATRONI_PORT", value: String(PATRONI_PORT) }]),
        // Ready: the leader, or a replica whose server runs; a clone in progress is not ready.
        readinessProbe: { ...http("/readiness"), periodSeconds: 5, timeoutSeconds: 5, failureThreshold: 3 },
        // Patroni's own liveness fails only when its loop has stalled beyond the leader lock's ttl; a long
        // clone keeps the loop running, so no startup probe is needed.
        livenessProbe: { ...http("/liveness"), initialDelaySeconds: 10, periodSeconds: 10, timeoutSeconds: 5, failureThreshold: 6 },
    };
}

export const patroni: Topology = {
    name: "patroni",
    rbacSuffix: "patroni",
    // Patroni talks to the Kubernetes API itself (leader lock, member list, role labels).
    databaseApiToken: true,
    validate(args, given, setting) {
        const mode = `${setting("failover")} is "patroni"`;
        if (given.image === undefined) {
            throw new ArgError(
                setting("image"),
                "(unset)",
                `an image with Patroni 3.3 or newer when ${mode}: the default image has no Patroni ` +
                    "(images/patroni/Dockerfile builds one from it)",
            );
        }
        if (args.primaryOrdinal !== 0) {
            throw new ArgError(setting("primaryOrdinal"), args.primaryOrdinal, `0 (unset) when ${mode}: Patroni elects the primary; switch over with patronictl`);
        }
    },
    scripts: () => scriptsOf("common", "patroni"),
    configFiles: (ctx) => ({ [PATRONI_CONFIG_FILE]: patroniConfigFile(ctx, PGDATA, SOCKET_DIR) }),
    container,
    sidecars: () => [],
    rbacRules: () => patroniRules(),
};

/**
 * Patroni with `use_endpoints: false`: the leader lock, the cluster config and the failover/sync keys are
 * ConfigMaps named after the cluster (created on first start, hence no resourceNames: create and list
 * cannot be limited by name); the members are the pods, which Patroni lists, watches and labels.
 */
export function patroniRules(): PolicyRule[] {
    return [
        { apiGroups: [""], resources: ["configmaps"], verbs: ["create", "get", "list", "patch", "update", "watch", "delete"] },
        { apiGroups: [""], resources: ["pods"], verbs: ["get", "list", "patch", "update", "watch"] },
    ];
}

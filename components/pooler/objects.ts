/**
 * The connection pooler (README, "Connection pooler"), with `pooler.enabled`: for each pooled Service (`rw`,
 * `ro`) a Deployment of PgBouncer pods, a Service `<cluster>-pooler-<svc>` and a PodDisruptionBudget; one
 * ConfigMap `<cluster>-pooler` with each Service's pgbouncer.ini and the container's script.
 *
 * One Deployment per pooled Service, not one with two listeners: PgBouncer has one listening port, and two
 * ports or two database aliases would make the clients' strings differ from the database's in more than the
 * host. Apart, each pool scales, rolls and fails on its own.
 */
import * as crypto from "crypto";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import * as path from "path";
import { shellScripts } from "../core/scripts";
import { HOSTNAME_KEY, POOLER_SECRET_KEY, PooledService, TLS_KEYS, ZONE_KEY, imageTag } from "../naming";
import { POOLER_COMPONENT, POOLED_SERVICE_LABEL, poolerPodLabels, poolerSelector } from "./labels";
import { POOLER_PORT, PoolerPaths, pgbouncerIni } from "./pgbouncerIni";
import { POOLER_ROLE } from "./resolve";
import { pooledServices } from "./services";
import { BuildContext } from "../core/context";
import { NetworkPolicySpec, databasePodLabels, policyMetadata, policyPeer, tcp } from "../network/rules";

/** The image's user (the CloudNativePG PgBouncer image: pgbouncer, uid 998, gid 996). */
export const POOLER_UID = 998;
export const POOLER_GID = 996;
export const POOLER_CONTAINER = "pgbouncer";
export const POOLER_PORT_NAME = "pgbouncer";
/** Where the pooler container mounts its inputs. */
export const POOLER_PATHS = {
    config: "/etc/replicated-db/pooler",
    secret: "/etc/replicated-db/secret",
    tls: "/etc/replicated-db/tls",
    run: "/run/pgbouncer",
} as const;
const SCRIPT = "pooler.sh";
const iniFile = (service: PooledService) => `pgbouncer-${service}.ini`;

export interface Pooler {
    deployments: k8s.apps.v1.Deployment[];
    services: k8s.core.v1.Service[];
}

/** The ConfigMap's data: each pooled Service's pgbouncer.ini and the container's script. */
export function poolerConfigData(ctx: BuildContext): Record<string, string> {
    const paths: PoolerPaths = { run: POOLER_PATHS.run, tls: POOLER_PATHS.tls };
    return {
        ...Object.fromEntries(pooledServices(ctx.args).map((s) => [iniFile(s), pgbouncerIni(ctx.args, ctx.names, s, ctx.engine.port, paths)])),
        ...shellScripts(path.join(__dirname, "scripts")),
    };
}

/** The labels of the pooler's objects: the recommended ones, with PgBouncer's name and the pooler image's version. */
function objectLabels(ctx: BuildContext, service?: PooledService): Record<string, string> {
    const { ["app.kubernetes.io/version"]: _version, ...rest } = ctx.labels(POOLER_COMPONENT);
    const tag = imageTag(ctx.args.pooler.image);
    return {
        ...rest,
        ...poolerPodLabels(ctx.args.clusterName),
        ...(service ? { [POOLED_SERVICE_LABEL]: service } : {}),
        ...(tag ? { "app.kubernetes.io/version": tag } : {}),
    };
}

/** The pod template of one pooled Service's Deployment. */
export function poolerPodSpec(ctx: BuildContext, service: PooledService): k8s.types.input.core.v1.PodSpec {
    const { args, names } = ctx;
    const p = args.pooler;
    const tlsOn = args.tls.enabled;
    const labelSelector = { matchLabels: poolerSelector(args.clusterName, service) };
    const r = p.resources;
    const probe = { tcpSocket: { port: POOLER_PORT_NAME }, timeoutSeconds: 2 };
    return {
        // PgBouncer talks to no Kubernetes API.
        automountServiceAccountToken: false,
        securityContext: {
            runAsUser: POOLER_UID,
            runAsGroup: POOLER_GID,
            fsGroup: POOLER_GID,
            runAsNonRoot: true,
            seccompProfile: { type: "RuntimeDefault" },
        },
        // Spread over nodes and zones where the cluster allows it; a small cluster still runs every pod.
        affinity: {
            podAntiAffinity: {
                preferredDuringSchedulingIgnoredDuringExecution: [{ weight: 100, podAffinityTerm: { topologyKey: HOSTNAME_KEY, labelSelector } }],
            },
        },
        topologySpreadConstraints: [{ maxSkew: 1, topologyKey: ZONE_KEY, whenUnsatisfiable: "ScheduleAnyway", labelSelector }],
        containers: [
            {
                name: POOLER_CONTAINER,
                image: p.image,
                command: ["/bin/bash", `${POOLER_PATHS.config}/${SCRIPT}`],
                env: [
                    { name: "POD_NAME", valueFrom: { fieldRef: { fieldPath: "metadata.name" } } },
                    { name: "RDB_POOLER_CONFIG", value: `${POOLER_PATHS.config}/${iniFile(service)}` },
                    { name: "RDB_SECRET_DIR", value: POOLER_PATHS.secret },
                    { name: "RDB_POOLER_RUN_DIR", value: POOLER_PATHS.run },
                    { name: "RDB_POOLER_USER", value: POOLER_ROLE },
                ],
                ports: [{ name: POOLER_PORT_NAME, containerPort: POOLER_PORT, protocol: "TCP" }],
                // Observe only: is PgBouncer accepting connections.
                readinessProbe: { ...probe, periodSeconds: 5, failureThreshold: 2 },
                livenessProbe: { ...probe, periodSeconds: 10, failureThreshold: 3 },
                resources: {
                    requests: { cpu: r.cpuRequest, memory: r.memoryRequest },
                    limits: { ...(r.cpuLimit ? { cpu: r.cpuLimit } : {}), ...(r.memoryLimit ? { memory: r.memoryLimit } : {}) },
                },
                securityContext: {
                    allowPrivilegeEscalation: false,
                    readOnlyRootFilesystem: true,
                    runAsNonRoot: true,
                    capabilities: { drop: ["ALL"] },
                    seccompProfile: { type: "RuntimeDefault" },
                },
                volumeMounts: [
                    { name: "config", mountPath: POOLER_PATHS.config, readOnly: true },
                    { name: "secret", mountPath: POOLER_PATHS.secret, readOnly: true },
                    ...(tlsOn ? [{ name: "tls", mountPath: POOLER_PATHS.tls, readOnly: true }] : []),
                    { name: "run", mountPath: POOLER_PATHS.run },
                ],
            },
        ],
        volumes: [
            { name: "config", configMap: { name: names.poolerConfigMap, defaultMode: 0o444 } },
            // The pooler role's password only: none of the other passwords reaches these pods.
            { name: "secret", secret: { secretName: names.secret, defaultMode: 0o440, items: [{ key: POOLER_SECRET_KEY, path: POOLER_SECRET_KEY }] } },
            ...(tlsOn
                ? [{ name: "tls", secret: { secretName: names.poolerTlsSecret, defaultMode: 0o440, items: Object.values(TLS_KEYS).map((key) => ({ key, path: key })) } }]
                : []),
            // The auth_file, in memory.
            { name: "run", emptyDir: { medium: "Memory", sizeLimit: "1Mi" } },
        ],
    };
}

/**
 * The pooler pods' NetworkPolicy `<cluster>-pooler`: ingress to the pooler's port from `allowedClients`; egress to
 * the database port of the database pods and DNS. The database pods' policy admits the pooler pods (./pod.ts).
 */
export function poolerPolicySpec(ctx: BuildContext): NetworkPolicySpec {
    const { args, engine } = ctx;
    const np = args.networkPolicy;
    return {
        podSelector: { matchLabels: poolerPodLabels(args.clusterName) },
        policyTypes: ["Ingress", "Egress"],
        ingress: np.allowedClients.length > 0 ? [{ from: np.allowedClients.map(policyPeer), ports: [tcp(POOLER_PORT)] }] : [],
        egress: [
            { to: [{ podSelector: { matchLabels: databasePodLabels(ctx) } }], ports: [tcp(engine.port)] },
            { to: np.dnsServers.map(policyPeer), ports: [{ protocol: "UDP", port: np.dnsPort }, tcp(np.dnsPort)] },
        ],
    };
}

export function createPooler(ctx: BuildContext, dependsOn: pulumi.Resource[]): Pooler | undefined {
    const { args, names, parent } = ctx;
    const services = pooledServices(args);
    if (services.length === 0) return undefined;
    const data = poolerConfigData(ctx);
    const checksum = crypto.createHash("sha256").update(JSON.stringify(data)).digest("hex");
    const configMap = new k8s.core.v1.ConfigMap(
        `${ctx.name}-pooler-config`,
        { metadata: { name: names.poolerConfigMap, namespace: args.namespace, labels: objectLabels(ctx) }, data },
        { parent },
    );
    // The pods start inside their policy, never open.
    const policy = args.networkPolicy.enabled
        ? new k8s.networking.v1.NetworkPolicy(`${ctx.name}-pooler-networkpolicy`, { metadata: policyMetadata(ctx, names.poolerNetworkPolicy), spec: poolerPolicySpec(ctx) }, { parent })
        : undefined;
    const out: Pooler = { deployments: [], services: [] };
    for (const service of services) {
        const name = names.pooler(service);
        const labels = objectLabels(ctx, service);
        const selector = poolerSelector(args.clusterName, service);
        out.deployments.push(
            new k8s.apps.v1.Deployment(
                `${ctx.name}-pooler-${service}`,
                {
                    metadata: { name, namespace: args.namespace, labels },
                    spec: {
                        replicas: args.pooler.replicas,
                        selector: { matchLabels: selector },
                        // A new pod is ready before an old one goes: the pool keeps its capacity through a roll.
                        strategy: { type: "RollingUpdate", rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } },
                        template: {
                            // A changed configuration or script rolls the pods (PgBouncer reads its file at start).
                            metadata: { labels, annotations: { "replicated-db.io/config-checksum": checksum } },
                            spec: poolerPodSpec(ctx, service),
                        },
                    },
                },
                { parent, dependsOn: [configMap, ...(policy ? [policy] : []), ...dependsOn] },
            ),
        );
        out.services.push(
            new k8s.core.v1.Service(
                `${ctx.name}-pooler-${service}-service`,
                {
                    metadata: { name, namespace: args.namespace, labels },
                    spec: { type: "ClusterIP", selector, ports: [{ name: POOLER_PORT_NAME, port: POOLER_PORT, targetPort: POOLER_PORT_NAME, protocol: "TCP" }] },
                },
                { parent },
            ),
        );
        // One pooler pod down at a time; a pod that is not Ready may always go (it serves nothing).
        new k8s.policy.v1.PodDisruptionBudget(
            `${ctx.name}-pooler-${service}-pdb`,
            {
                metadata: { name, namespace: args.namespace, labels },
                spec: { maxUnavailable: 1, selector: { matchLabels: selector }, unhealthyPodEvictionPolicy: "AlwaysAllow" },
            },
            { parent },
        );
    }
    return out;
}

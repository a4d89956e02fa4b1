/**
 * The three Services:
 * - headless: every pod, ready or not, by its own DNS name (`<pod>.<cluster>-headless`); replicas find the
 *   primary through it before anything is ready, and the StatefulSet needs it for the pod names;
 * - read-write: the pod labelled primary (by the topology: a sidecar or the failover manager), once ready;
 * - read-only: the pods labelled replica, once they are ready (streaming).
 * A selector cannot leave out one pod of a StatefulSet (all share the template's labels), so the role
 * label is set at run time from what each database reports; see the README for why.
 */
import * as k8s from "@pulumi/kubernetes";
import { PRIMARY_ROLE, REPLICA_ROLE, ROLE_LABEL } from "../naming";
import { BuildContext } from "../core/context";

export interface Services {
    headless: k8s.core.v1.Service;
    readWrite: k8s.core.v1.Service;
    readOnly: k8s.core.v1.Service;
}

export function createServices(ctx: BuildContext): Services {
    const { args, names, engine, parent } = ctx;
    const ports = [{ name: engine.portName, port: engine.port, targetPort: engine.portName, protocol: "TCP" }];
    const service = (role: string, name: string, spec: k8s.types.input.core.v1.ServiceSpec) =>
        new k8s.core.v1.Service(
            `${ctx.name}-${role}`,
            {
                metadata: { name, namespace: args.namespace, labels: ctx.labels("database") },
                spec: { ports, ...spec },
            },
            { parent },
        );
    return {
        headless: service("headless", names.headlessService, {
            clusterIP: "None",
            publishNotReadyAddresses: true,
            selector: ctx.selector,
        }),
        readWrite: service("rw", names.readWriteService, {
            type: "ClusterIP",
            selector: { ...ctx.selector, [ROLE_LABEL]: PRIMARY_ROLE },
        }),
        readOnly: service("ro", names.readOnlyService, {
            type: "ClusterIP",
            selector: { ...ctx.selector, [ROLE_LABEL]: REPLICA_ROLE },
        }),
    };
}

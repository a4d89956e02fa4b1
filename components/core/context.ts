/** What every resource builder gets: the resolved args, the plan (pods and names), the engine, its topology and the parent. */
import * as pulumi from "@pulumi/pulumi";
import { ResolvedArgs } from "../args";
import { Engine, EngineContext } from "./engine";
import { Topology } from "./topology";
import { commonLabels, selectorLabels } from "../naming";
import { ClusterPlan } from "../plan";

export interface BuildContext extends EngineContext {
    /** The component's resource name: children are named `${name}-<role>`. */
    name: string;
    engine: Engine;
    /** The engine's topology that `failover` chose: who decides the primary. */
    topology: Topology;
    parent: pulumi.ComponentResource;
    /** The recommended labels for an object of the given app.kubernetes.io/component. */
    labels(component: string): Record<string, string>;
    /**
     * The same without `app.kubernetes.io/version`, for what must not change with the image: the
     * volumeClaimTemplates (immutable, so a new label would replace the StatefulSet) and the volumes.
     */
    stableLabels(component: string): Record<string, string>;
}

/** Where the plumbing mounts the engine's inputs in every container (docs/pod-contract.md). */
export const MOUNT_PATHS = {
    scripts: "/etc/replicated-db/scripts",
    config: "/etc/replicated-db/config",
    secret: "/etc/replicated-db/secret",
    run: "/run/replicated-db",
    serviceAccount: "/var/run/secrets/kubernetes.io/serviceaccount",
} as const;

export function buildContext(
    name: string,
    args: ResolvedArgs,
    plan: ClusterPlan,
    engine: Engine,
    topology: Topology,
    parent: pulumi.ComponentResource,
): BuildContext {
    return {
        name,
        args,
        plan,
        names: plan.names,
        engine,
        topology,
        parent,
        paths: { ...MOUNT_PATHS },
        labels: (component) => commonLabels(args, engine.name, component),
        stableLabels: (component) => {
            const { ["app.kubernetes.io/version"]: _version, ...rest } = commonLabels(args, engine.name, component);
            return rest;
        },
        selector: selectorLabels(args, engine.name),
    };
}

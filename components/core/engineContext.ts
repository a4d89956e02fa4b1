/** What an engine and its topologies are given: the resolved args, the names, the plan and where the pieces are mounted. */
import * as k8s from "@pulumi/kubernetes";
import { ResolvedArgs } from "../args";
import { Names } from "../naming";
import type { ClusterPlan } from "../plan";

export type Container = k8s.types.input.core.v1.Container;
export type EnvVar = k8s.types.input.core.v1.EnvVar;

export interface EngineContext {
    args: ResolvedArgs;
    names: Names;
    /** The pods, their names, hosts and configured roles, computed once (plan.ts). */
    plan: ClusterPlan;
    /** Where the plumbing mounts the pieces the engine's scripts read (see docs/pod-contract.md). */
    paths: MountPaths;
    /** The labels that select this cluster's pods (the engine's name among them). */
    selector: Record<string, string>;
}

export interface MountPaths {
    scripts: string;
    config: string;
    secret: string;
    run: string;
    /** The ServiceAccount token and CA, in the containers a topology gives them to. */
    serviceAccount: string;
}


/** The engine registry: adding an engine is adding a module and a line here. */
import { Engine } from "../core/engine";
import { postgresql } from "./postgres";
import { Topology } from "../core/topology";

export { Engine, EngineContext, Connection, MountPaths } from "../core/engine";
export { Topology, Sidecar, SharedVolume, PolicyRule } from "../core/topology";

const ENGINES: Record<string, Engine> = {
    [postgresql.name]: postgresql,
};

export function engineNames(): string[] {
    return Object.keys(ENGINES);
}

export function getEngine(name: string): Engine {
    const engine = ENGINES[name];
    if (!engine) {
        throw new Error(`unknown engine ${JSON.stringify(name)} (known: ${engineNames().join(", ")})`);
    }
    return engine;
}

/** The `failover` values an engine accepts. */
export function topologyNames(engine: Engine): string[] {
    return Object.keys(engine.topologies);
}

/** The topology of a resolved `failover` value (resolveArgs has checked it against the engine). */
export function getTopology(engine: Engine, failover: string): Topology {
    const topology = engine.topologies[failover];
    if (!topology) {
        throw new Error(`engine ${engine.name} has no topology ${JSON.stringify(failover)} (known: ${topologyNames(engine).join(", ")})`);
    }
    return topology;
}

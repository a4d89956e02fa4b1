/** The engine registry: adding an engine is adding a module and a line here. */
import { Engine } from "./engine";
import { postgresql } from "./postgres";

export { Engine, EngineContext, Connection, MountPaths } from "./engine";

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

/** The scripts every PostgreSQL topology ships (lib.sh, gate.sh, state.sh, probe.sh), with a topology's own. */
import * as path from "path";
import { mergeFiles } from "../../core/parts";
import { shellScripts } from "../../core/scripts";

export const ENGINE_SCRIPTS_DIR = path.join(__dirname, "scripts");

/** The engine's common scripts and those of the topology folder `dir`. */
export function topologyScripts(dir: string): Record<string, string> {
    return mergeFiles("scripts ConfigMap", shellScripts(ENGINE_SCRIPTS_DIR), shellScripts(dir));
}

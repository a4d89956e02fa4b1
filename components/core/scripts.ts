/**
 * The pod scripts on disk: each feature, the engine and each topology keep theirs in a `scripts/` folder beside
 * their code (npm run build copies every such folder next to the compiled module). They are shipped flat in a
 * ConfigMap (a key cannot hold a "/"), so a name used twice would shadow a script: core/parts.ts mergeFiles
 * refuses that where the ConfigMaps are assembled.
 */
import * as fs from "fs";
import * as path from "path";

/** The `.sh` files of a `scripts/` folder, file name to content. */
export function shellScripts(dir: string): Record<string, string> {
    const files = fs.readdirSync(dir).filter((f) => f.endsWith(".sh")).sort();
    return Object.fromEntries(files.map((f) => [f, fs.readFileSync(path.join(dir, f), "utf8")]));
}

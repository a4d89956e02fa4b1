/**
 * The pod scripts on disk, by audience: `common/` for every topology, one folder per topology. npm run build
 * copies the folders next to the compiled module. A ConfigMap key cannot hold a "/", so the chosen folders
 * are shipped flat; a name used twice would silently shadow a script, hence the check.
 */
import * as fs from "fs";
import * as path from "path";

const SCRIPTS_DIR = path.join(__dirname, "scripts");

function folderScripts(folder: string): Record<string, string> {
    const dir = path.join(SCRIPTS_DIR, folder);
    const files = fs.readdirSync(dir).filter((f) => f.endsWith(".sh")).sort();
    return Object.fromEntries(files.map((f) => [f, fs.readFileSync(path.join(dir, f), "utf8")]));
}

/** The `.sh` files of the given folders of the scripts directory, file name to content. */
export function scriptsOf(...folders: string[]): Record<string, string> {
    const out: Record<string, string> = {};
    for (const folder of folders) {
        for (const [file, content] of Object.entries(folderScripts(folder))) {
            if (file in out) {
                throw new Error(`pod script ${file} is in two shipped folders (${folders.join(", ")}): the ConfigMap is flat`);
            }
            out[file] = content;
        }
    }
    return out;
}

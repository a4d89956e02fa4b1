/**
 * The pod scripts on disk, by audience: `common/` for every topology, one folder per topology. npm run build
 * copies the folders next to the compiled module. A ConfigMap key cannot hold a "/", so the chosen folders
 * are shipped flat; a name used twice would silently shadow a script, hence the check. Each folder is read
 * once per process: the files ship with the package, and every component of a program sends the same ones.
 */
import * as fs from "fs";
import * as path from "path";

const SCRIPTS_DIR = path.join(__dirname, "scripts");

const read = new Map<string, Readonly<Record<string, string>>>();

function folderScripts(folder: string): Readonly<Record<string, string>> {
    let scripts = read.get(folder);
    if (!scripts) {
        const dir = path.join(SCRIPTS_DIR, folder);
        const files = fs.readdirSync(dir).filter((f) => f.endsWith(".sh")).sort();
        scripts = Object.freeze(Object.fromEntries(files.map((f) => [f, fs.readFileSync(path.join(dir, f), "utf8")])));
        read.set(folder, scripts);
    }
    return scripts;
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

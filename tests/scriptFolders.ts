/**
 * Where the pod scripts live in the source tree (each beside the code that ships it), for the tests that run or
 * read them from disk. Relative to components/, which is also how `npm run build` lays them out under lib/.
 */
import * as fs from "fs";
import * as path from "path";

export const COMPONENTS = path.join(__dirname, "..", "components");

export const SCRIPT_FOLDERS = {
    /** The engine's, shipped with every topology: lib.sh, gate.sh, state.sh, probe.sh. */
    common: "engines/postgres/scripts",
    manual: "engines/postgres/topologies/manual/scripts",
    patroni: "engines/postgres/topologies/patroni/scripts",
    /** pgBackRest's, shipped when a backup repository is used. */
    backup: "engines/postgres/backup/scripts",
    pooler: "pooler/scripts",
} as const;

export type ScriptFolder = keyof typeof SCRIPT_FOLDERS;

/** A folder's absolute path, under components/ or under another root laid out the same way (a build). */
export function scriptDir(folder: ScriptFolder, root = COMPONENTS): string {
    return path.join(root, SCRIPT_FOLDERS[folder]);
}

/** One script's absolute path. */
export function scriptPath(folder: ScriptFolder, file: string, root = COMPONENTS): string {
    return path.join(scriptDir(folder, root), file);
}

/** The .sh files of the folders, file name to content: what a ConfigMap that ships them flat holds. */
export function folderScripts(...folders: ScriptFolder[]): Record<string, string> {
    const out: Record<string, string> = {};
    for (const folder of folders) {
        for (const f of fs.readdirSync(scriptDir(folder)).filter((x) => x.endsWith(".sh"))) out[f] = fs.readFileSync(scriptPath(folder, f), "utf8");
    }
    return out;
}

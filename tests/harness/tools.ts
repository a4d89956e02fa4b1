/** The pinned upstream tools (tools/versions.env) and where their install scripts put them. */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

const VERSIONS_ENV = path.join(__dirname, "..", "..", "tools", "versions.env");

/** tools/versions.env's NAME=value lines (comments and blank lines skipped). */
export function toolVersions(file = VERSIONS_ENV): Record<string, string> {
    const versions: Record<string, string> = {};
    for (const line of fs.readFileSync(file, "utf8").split("\n")) {
        const m = /^([A-Z0-9_]+)=(\S+)$/.exec(line.trim());
        if (m) versions[m[1]] = m[2];
    }
    return versions;
}

export function toolVersion(name: string): string {
    const v = toolVersions()[name];
    if (v === undefined) throw new Error(`tools/versions.env declares no ${name}`);
    return v;
}

/** `${RDB_TOOLS_DIR:-$HOME/.cache/replicated-db-tools}`, as the scripts under tools/ compute it. */
export function toolsDir(): string {
    return process.env.RDB_TOOLS_DIR || path.join(process.env.HOME || os.homedir(), ".cache", "replicated-db-tools");
}

/** `<tools dir>/<name>-<version>`, the directory a tool's install script fills. */
export function toolDir(name: string, version: string): string {
    return path.join(toolsDir(), `${name}-${version}`);
}

/** What /proc says of a process, for tests that look at a pod's processes. A process can exit between a
 * listing of /proc and the read of one of its files (backends and tick subshells come and go all the time):
 * every function here answers "gone" (undefined) for it instead of throwing. */
import * as fs from "fs";

/** The fields of /proc/<pid>/stat the tests use; undefined when the process is gone. */
export function procStat(pid: number): { comm: string; state: string; ppid: number; start: string } | undefined {
    try {
        const s = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
        // comm is in parentheses and may hold spaces; the fields after it are space-separated.
        const close = s.lastIndexOf(")");
        const rest = s.slice(close + 2).split(" ");
        return { comm: s.slice(s.indexOf("(") + 1, close), state: rest[0], ppid: Number(rest[1]), start: rest[19] };
    } catch {
        return undefined;
    }
}

/** The process's command line (arguments NUL-separated); undefined when the process is gone. */
export function procCmdline(pid: number): string | undefined {
    try {
        return fs.readFileSync(`/proc/${pid}/cmdline`, "utf8");
    } catch {
        return undefined;
    }
}

/** What /proc says of a process, for tests that look at a pod's processes. A process can exit between a
 * listing of /proc and the read of one of its files (backends and tick subshells come and go all the time):
 * every function here answers "gone" (undefined) for it instead of throwing. */
import { ChildProcess } from "child_process";
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

/** A command's exit status and output; killed after `timeoutMs`. */
export function collect(child: ChildProcess, timeoutMs: number): Promise<{ status: number | null; stdout: string; stderr: string }> {
    let stdout = "";
    let stderr = "";
    child.stdout!.on("data", (d) => (stdout += d));
    child.stderr!.on("data", (d) => (stderr += d));
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    return new Promise((resolve) =>
        child.on("close", (status) => {
            clearTimeout(timer);
            resolve({ status, stdout, stderr });
        }),
    );
}

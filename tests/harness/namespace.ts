/**
 * The harness starts servers only inside a run of tests/harness/isolated.sh: a network namespace of the
 * run's own (every run's pods use the same addresses and passwords), a PID namespace of its
 * own (nothing the run started can outlive it) and an IPC namespace of its own (nor any shared memory segment).
 */
import { spawnSync } from "child_process";
import * as fs from "fs";

const HOW = "run it through tests/harness/isolated.sh, e.g. `npm run test:data`, `npm run bench:failover`, or " +
    "`tests/harness/isolated.sh npx mocha -r ts-node/register/transpile-only --timeout 300000 tests/data/replication.test.ts`";

/** Why this process is not in a private network and PID namespace, or undefined when it is. */
export function isolationProblem(env: NodeJS.ProcessEnv = process.env): string | undefined {
    const net = fs.readlinkSync("/proc/self/ns/net");
    const pid = fs.readlinkSync("/proc/self/ns/pid");
    if (!env.RDB_OUTER_NETNS || !env.RDB_OUTER_PIDNS) {
        return "RDB_OUTER_NETNS and RDB_OUTER_PIDNS are not set, so this is not a run of tests/harness/isolated.sh";
    }
    if (net === env.RDB_OUTER_NETNS) return `the network namespace ${net} is the one the run was started from, not a private one`;
    if (pid === env.RDB_OUTER_PIDNS) return `the PID namespace ${pid} is the one the run was started from, not a private one`;
    // The servers' System V shared memory: one SIGKILLed leaves its segment in the namespace, so a shared one fills up.
    const ipc = fs.readlinkSync("/proc/self/ns/ipc");
    if (env.RDB_OUTER_IPCNS && ipc === env.RDB_OUTER_IPCNS) return `the IPC namespace ${ipc} is the one the run was started from, not a private one`;
    // A namespace made for the run holds the loopback interface alone; a shared one has the machine's.
    // (/proc/self/net follows the namespace; /sys/class/net shows the one sysfs was mounted in.)
    const links = fs.readFileSync("/proc/self/net/dev", "utf8").split("\n").slice(2).map((l) => l.split(":")[0].trim()).filter((l) => l && l !== "lo");
    if (links.length > 0) return `the network namespace has interfaces other than lo (${links.join(", ")}), so it is not one made for this run`;
    const lo = spawnSync("ip", ["-o", "link", "show", "lo"], { encoding: "utf8" }).stdout ?? "";
    if (!/<[^>]*\bUP\b/.test(lo)) return "the loopback interface is down (ip link set lo up)";
    return undefined;
}

/** Throws, saying how to run it, unless this process is in a private network and PID namespace. */
export function assertIsolated(): void {
    const problem = isolationProblem();
    if (problem) {
        throw new Error(`the data-plane harness refuses to start servers outside a private network and PID namespace: ${problem}; ${HOW}`);
    }
}

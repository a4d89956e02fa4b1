/**
 * The harness itself: runs are isolated from each other and leave nothing behind, and it behaves like
 * the kubelet where failover depends on it (probe timeouts, startup gating, liveness kills, restarts with
 * CrashLoopBackOff, emptyDirs per pod, readiness and Service endpoints).
 */
import * as assert from "assert";
import { ChildProcess, spawn, spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { CrashLoopBackOff } from "../harness/backoff";
import { Cluster, sleep } from "../harness/cluster";
import { podAddress } from "../harness/pod";
import { Prober, ProbeKind, ProbeResult } from "../harness/prober";
import { procCmdline } from "../harness/proc";

const ROOT = path.join(__dirname, "..", "..");
const ISOLATED = path.join(ROOT, "tests", "harness", "isolated.sh");
const TS_NODE = require.resolve("ts-node/dist/bin");

/** A miniature run (isolation-fixture.ts) in a namespace of its own; resolves with it once it is up. */
async function fixtureRun(marker: string): Promise<{ proc: ChildProcess; pidns: string; base: string; lines: string[] }> {
    const proc = spawn(ISOLATED, [process.execPath, TS_NODE, "--transpile-only", path.join(ROOT, "tests", "harness", "isolation-fixture.ts"), marker], {
        cwd: ROOT,
        stdio: ["pipe", "pipe", "pipe"],
    });
    const lines: string[] = [];
    let err = "";
    proc.stdout!.on("data", (d) => lines.push(...String(d).split("\n").filter(Boolean)));
    proc.stderr!.on("data", (d) => (err += d));
    const deadline = Date.now() + 120000;
    while (!lines.some((l) => l.startsWith("ready "))) {
        if (proc.exitCode !== null || Date.now() > deadline) throw new Error(`run ${marker} did not come up (exit ${proc.exitCode}): ${err}`);
        await sleep(200);
    }
    const ready = JSON.parse(lines.find((l) => l.startsWith("ready "))!.slice(6));
    return { proc, pidns: ready.pidns, base: ready.base, lines };
}

/** PIDs (as seen here) of the processes in PID namespace `pidns`. */
function processesIn(pidns: string): number[] {
    return fs.readdirSync("/proc").filter((p) => /^[0-9]+$/.test(p)).filter((p) => {
        try {
            return fs.readlinkSync(`/proc/${p}/ns/pid`) === pidns;
        } catch {
            return false;
        }
    }).map(Number);
}

function comm(pid: number): string {
    try {
        return fs.readFileSync(`/proc/${pid}/comm`, "utf8").trim();
    } catch {
        return "";
    }
}

describe("the harness: isolation of runs", function () {
    this.timeout(240000);

    it("refuses to start a cluster outside a private network and PID namespace, saying how to run it", () => {
        const here = { net: fs.readlinkSync("/proc/self/ns/net"), pid: fs.readlinkSync("/proc/self/ns/pid") };
        const attempt = (env: NodeJS.ProcessEnv) =>
            spawnSync(process.execPath, ["-r", "ts-node/register/transpile-only", "-e", 'new (require("./tests/harness/cluster").Cluster)()'], { cwd: ROOT, env, encoding: "utf8" });
        const unset = { ...process.env };
        delete unset.RDB_OUTER_NETNS;
        delete unset.RDB_OUTER_PIDNS;
        // Not started by isolated.sh, and started from the very namespaces it is in: both refused.
        for (const env of [unset, { ...process.env, RDB_OUTER_NETNS: here.net, RDB_OUTER_PIDNS: here.pid }]) {
            const r = attempt(env);
            assert.notStrictEqual(r.status, 0);
            assert.match(r.stderr, /refuses to start servers outside a private network and PID namespace: .*isolated\.sh.*npm run test:data/);
        }
        assert.strictEqual(attempt(process.env).status, 0, "inside this run it may");
    });

    it("two runs at once each serve their own servers on the same addresses and see none of the other's processes", async () => {
        const runs = await Promise.all([fixtureRun("run-a"), fixtureRun("run-b")]);
        try {
            assert.notStrictEqual(runs[0].pidns, runs[1].pidns);
            // Neither run's pod address answers in this run's namespace either.
            const here = spawnSync("/usr/lib/postgresql/15/bin/pg_isready", ["-h", podAddress(0), "-p", "5432", "-t", "2"]);
            assert.strictEqual(here.status, 2, "a server of another run answers here");
            for (const r of runs) r.proc.stdin!.write("check\n");
            const results = await Promise.all(runs.map(async (r) => {
                while (!r.lines.some((l) => l.startsWith("result "))) await sleep(100);
                return JSON.parse(r.lines.find((l) => l.startsWith("result "))!.slice(7));
            }));
            assert.deepStrictEqual(results, [{ served: "run-a", foreign: 0 }, { served: "run-b", foreign: 0 }]);
        } finally {
            for (const r of runs) r.proc.stdin!.end();
        }
        const codes = await Promise.all(runs.map((r) => new Promise((resolve) => (r.proc.exitCode !== null ? resolve(r.proc.exitCode) : r.proc.on("exit", resolve)))));
        assert.deepStrictEqual(codes, [0, 0]);
    });

    for (const victim of ["the wrapper npm or CI started", "the node process running the tests"]) {
        it(`SIGKILL of ${victim} leaves no pod, etcd or writer behind`, async () => {
            const run = await fixtureRun("killed");
            const before = processesIn(run.pidns);
            const names = before.map(comm);
            // The pod's server, etcd, the test process and the writer's loop.
            for (const expected of ["postgres", "etcd", "node"]) assert.ok(names.includes(expected), `no ${expected} in ${names}`);
            assert.ok(before.some((p) => comm(p) === "bash" && procCmdline(p)?.includes("INSERT INTO marker")), "the writer runs");
            const target = victim.startsWith("the wrapper") ? run.proc.pid! : before.find((p) => comm(p) === "node")!;
            process.kill(target, "SIGKILL");
            const deadline = Date.now() + 10000;
            while (processesIn(run.pidns).length > 0 && Date.now() < deadline) await sleep(100);
            assert.deepStrictEqual(processesIn(run.pidns).map((p) => `${p}:${comm(p)}`), [], "processes of the killed run are left");
            // Its files are left, having had nobody to remove them; nothing runs there any more.
            assert.match(run.base, /^\/var\/tmp\/rdb-cluster-/);
            fs.rmSync(run.base, { recursive: true, force: true });
        });
    }
});

describe("the harness: the kubelet's behaviour", function () {
    this.timeout(180000);

    it("CrashLoopBackOff: an immediate restart, then 10 s doubling to 300 s, reset after 10 min of running", () => {
        const b = new CrashLoopBackOff();
        let t = 0;
        const delays = Array.from({ length: 8 }, () => {
            t += 1000; // each container runs a second, then exits
            const d = b.next(t);
            t += d;
            return d / 1000;
        });
        assert.deepStrictEqual(delays, [0, 10, 20, 40, 80, 160, 300, 300]);
        assert.strictEqual(b.next(t + 601000), 0, "a container that ran over 10 min restarts at once");
        assert.strictEqual(b.next(t + 602000), 10000);
        const fast = new CrashLoopBackOff(0.01);
        assert.deepStrictEqual([fast.next(0), fast.next(1), fast.next(2)], [0, 100, 200]);
        assert.throws(() => new CrashLoopBackOff(0), /crashLoopBackOffScale is 0; allowed: a number in \(0, 1\]/);
    });

    /** A container whose probes answer from a script, to check the workers' logic in isolation. */
    function fakePod(answers: Partial<Record<ProbeKind, () => boolean>>) {
        const calls: ProbeKind[] = [];
        const logs: string[] = [];
        const kills: string[] = [];
        const pod = { instance: 1 as number | undefined };
        const target = {
            containerInstance: () => pod.instance,
            containerStartedAt: () => 0,
            probe: async (kind: ProbeKind): Promise<ProbeResult> => {
                calls.push(kind);
                const ok = answers[kind]!();
                return { ok, output: ok ? "" : `${kind} says no` };
            },
            log: (l: string) => logs.push(l),
            killContainer: (reason: string) => {
                kills.push(reason);
                pod.instance = undefined;
            },
        };
        return { calls, logs, kills, pod, target };
    }

    it("probes: startup first, then readiness at once and liveness; failureThreshold liveness failures kill the container", async () => {
        let started = false;
        let alive = true;
        const f = fakePod({ startupProbe: () => started, readinessProbe: () => true, livenessProbe: () => alive });
        const c = {
            startupProbe: { periodSeconds: 1, failureThreshold: 30 },
            readinessProbe: { periodSeconds: 1, failureThreshold: 3 },
            livenessProbe: { periodSeconds: 1, failureThreshold: 2 },
        };
        const prober = new Prober(c, f.target);
        try {
            await sleep(2300);
            assert.ok(f.calls.length >= 2 && !f.calls.some((k) => k !== "startupProbe"), `only startup probes before it passes: ${f.calls}`);
            assert.strictEqual(prober.ready, false);
            assert.match(f.logs[0], /^Startup probe failed: startupProbe says no$/);
            started = true;
            await sleep(1100);
            const firstReadiness = f.calls.indexOf("readinessProbe");
            assert.strictEqual(f.calls[firstReadiness - 1], "startupProbe", "readiness runs right after the startup probe passes");
            assert.strictEqual(prober.ready, true);
            alive = false;
            await sleep(2500);
            assert.deepStrictEqual(f.kills, ["Liveness probe failed 2 times in a row"]);
            assert.strictEqual(prober.ready, false, "a container that is not running is not ready");
        } finally {
            prober.stop();
        }
    });

    describe("on a real pod", () => {
        const c = new Cluster({ args: { replicas: 1 }, crashLoopBackOffScale: 0.1 });
        const runDir = (i: number) => path.join(c.pod(i).root, "mounts", "run");
        before(() => c.up());
        after(() => c.cleanup());

        it("Services: rw selects the ready primary, ro the ready replicas, from the role label and readiness", async () => {
            assert.deepStrictEqual([c.serviceEndpoints("rw"), c.serviceEndpoints("ro")], [[0], [1]]);
            await c.stop(1, "SIGINT");
            assert.deepStrictEqual(c.serviceEndpoints("ro"), [], "a pod whose container is down is not ready");
            c.start(1);
            await c.waitReady(1);
            assert.deepStrictEqual(c.serviceEndpoints("ro"), [1]);
        });

        it("an exec probe is killed at its timeoutSeconds and counts as a failure, with its output in the pod's log", async () => {
            // A probe that hangs (the rendered ones bound their own waits below the timeout): the same
            // container, the rendered timeout, a command that never ends on its own.
            const probe = c.objects.statefulSet.spec.template.spec.containers[0].readinessProbe;
            const rendered = probe.exec.command;
            const hang = (marker: string) => ["/bin/bash", "-c", `echo ${marker}; exec -a ${marker} sleep 600`];
            const hanging = (marker: string) => spawnSync("pgrep", ["-f", marker]).status === 0;
            try {
                // Run by hand; the background prober keeps the rendered command meanwhile.
                const marker = `hanging-probe-${process.pid}`;
                probe.exec.command = hang(marker);
                const t0 = Date.now();
                const pending = c.pod(1).probeAsync("readinessProbe");
                probe.exec.command = rendered;
                const r = await pending;
                const took = Date.now() - t0;
                assert.strictEqual(r.ok, false);
                assert.match(r.output, new RegExp(`probe timed out after ${probe.timeoutSeconds}s; output so far: ${marker}`));
                assert.ok(took >= probe.timeoutSeconds * 1000 && took < probe.timeoutSeconds * 1000 + 1500, `took ${took} ms for a ${probe.timeoutSeconds} s timeout`);
                await c.until("the timed-out probe's processes to be gone", () => !hanging(marker), 3000);
                // Now for the background prober.
                probe.exec.command = hang(`hanging-background-probe-${process.pid}`);
                await c.until("the background prober to log a timed-out readiness probe", () =>
                    /\[kubelet [^\]]+\] Readiness probe failed: probe timed out after \d+s; output so far: hanging-background-probe/.test(fs.readFileSync(c.logFile(1), "utf8")), 30000);
            } finally {
                probe.exec.command = rendered;
            }
            await c.waitReady(1);
        });

        it("a crashed container is restarted with its emptyDirs, then after a back-off; a deleted pod gets fresh ones", async () => {
            fs.writeFileSync(path.join(runDir(1), "left-by-the-test"), "x");
            await c.kill(1, "SIGKILL");
            await c.until("the first restart, at once", () => c.restarts(1) === 1 && c.pod(1).running, 5000);
            assert.ok(fs.existsSync(path.join(runDir(1), "left-by-the-test")), "a container restart keeps the emptyDir");
            await c.waitReady(1);
            const t0 = Date.now();
            await c.kill(1, "SIGKILL");
            await c.until("the second restart", () => c.restarts(1) === 2 && c.pod(1).running, 10000);
            assert.ok(Date.now() - t0 >= 900, "the second restart waits out the back-off (10 s x 0.1)");
            assert.match(fs.readFileSync(c.logFile(1), "utf8"), /\[kubelet [^\]]+\] Back-off 1s restarting failed container postgres/);
            await c.waitReady(1);

            await c.deletePod(1);
            assert.ok(!fs.existsSync(path.join(runDir(1), "left-by-the-test")), "a new pod gets a fresh emptyDir");
            assert.strictEqual(c.roleLabel(1), undefined, "the new pod has no role label yet");
            assert.strictEqual(c.restarts(1), 0, "a new pod starts with no restarts");
            await c.waitReady(1);
            assert.deepStrictEqual(c.serviceEndpoints("ro"), [1]);
            assert.ok(fs.existsSync(path.join(c.pod(1).dataDir, "pgdata", "PG_VERSION")), "the volume stays");
        });
    });
});

/**
 * The manual supervisor's rules (decide.sh, in the manual topology's scripts/) as a table: what it observed in, one action out.
 * One bash for the whole table, as the pod runs it (set -uo pipefail, each call in a command substitution),
 * with a PATH that finds nothing: a rule that ran a command, read a file or asked the clock would fail here.
 */
import * as assert from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { scriptPath } from "../scriptFolders";

const DECIDE = scriptPath("manual", "decide.sh");
const DECIDE_GATE = scriptPath("common", "decide-gate.sh");
const PATRONI_GATE = scriptPath("patroni", "patroni-gate.sh");
const ENTRYPOINT = scriptPath("manual", "entrypoint.sh");
const BASH = ["/bin/bash", "/usr/bin/bash"].find((b) => fs.existsSync(b))!;

type Facts = Record<string, string>;
/**
 * rule: decide_tick (decide.sh) or decide_gate (the engine's decide-gate.sh, both modes); "gate-off" is decide_gate
 * with RDB_REPLICA_GATE=off, "gate-patroni" with Patroni's GATE_WHILE_DOWN=on; "pace" is decide_pace (decide.sh),
 * the wait before the next tick; "wal" is decide_wal (decide-gate.sh), the fact "wal" from one look at the receiver.
 */
type Row = [rule: "tick" | "gate" | "gate-off" | "gate-patroni" | "pace" | "wal", facts: Facts, want: string, why: string];

// This pod is db-1 of three (db-0, db-1, db-2).
const NAMED = { me: "1", desired: "1", count: "3", source: "", restore: "no", allow_major: "false", gated: "no", quiet: "0", since_rewind: "1000" };
const REPLICA = { ...NAMED, desired: "0" };
const DOWN = { server: "down", major: "17", server_major: "17" };
const FRESH = { server: "down", major: "none" };
const CLEAR = { "claim.0": "gone", "claim.2": "gone" };
const STANDBY = { server: "running", recovery: "t" };
const MINE = "0/5000000";

const TABLE: Row[] = [
    // The server died under the supervisor, or does not answer.
    ["tick", { ...NAMED, server: "exited" }, "crashed", "the container restarts"],
    ["tick", { ...NAMED, server: "running" }, "ask recovery", "a running server is asked what it is"],
    ["tick", { ...NAMED, server: "running", recovery: "noanswer" }, "unresponsive", "a failed question is not an answer"],

    // Down: the data directory's major version comes first, for every role.
    ["tick", { ...NAMED, server: "down" }, "ask major", "the data directory is looked at first"],
    ["tick", { ...NAMED, server: "down", major: "16" }, "ask server_major", "a data directory is checked against the binary"],
    ["tick", { ...NAMED, ...DOWN, major: "16" }, "refuse-major", "another major without the opt-in: touch nothing"],
    ["tick", { ...NAMED, ...DOWN, major: "16", allow_major: "true" }, "set-aside-major", "with allowMajorVersionChange: set it aside"],
    ["tick", { ...REPLICA, ...DOWN, major: "16" }, "refuse-major", "a replica too"],
    ["tick", { ...NAMED, ...FRESH }, "ask claim.0", "an empty volume needs no version check; the named pod asks the others"],

    // Down, named the primary: writes only when no other pod takes them or may.
    ["tick", { ...NAMED, ...DOWN }, "ask claim.0", "the named pod asks the first other pod"],
    ["tick", { ...NAMED, ...DOWN, "claim.0": "primary" }, "hold-writes 0 primary", "two primaries: never"],
    ["tick", { ...NAMED, ...DOWN, "claim.0": "unknown" }, "hold-writes 0 unknown", "a failed question is never read as not writable"],
    ["tick", { ...NAMED, ...DOWN, "claim.0": "busy 0" }, "hold-writes 0 busy", "a pod shutting down may still send WAL"],
    ["tick", { ...NAMED, ...DOWN, "claim.0": "busy 59" }, "hold-writes 0 busy", "busy within the grace"],
    ["tick", { ...NAMED, ...DOWN, "claim.0": "busy 60" }, "ask claim.2", "busy past the grace (a standby waiting for this pod's WAL): no longer holds it off"],
    ["tick", { ...NAMED, ...DOWN, "claim.0": "gone" }, "ask claim.2", "itself (db-1) is skipped"],
    ["tick", { ...NAMED, ...DOWN, "claim.0": "gone", "claim.2": "primary" }, "hold-writes 2 primary", "the last pod is asked too"],
    ["tick", { ...NAMED, ...DOWN, "claim.0": "primary", "claim.2": "gone" }, "hold-writes 0 primary", "the first blocker is named"],
    ["tick", { ...NAMED, ...DOWN, "claim.0": "standby 0/3000000", "claim.2": "gone" }, "ask data", "a standby does not take writes"],
    ["tick", { ...NAMED, ...DOWN, ...CLEAR, source: "src-0,src-1" }, "start-standby-leader", "a standby cluster's named pod follows the source"],
    ["tick", { ...NAMED, ...DOWN, ...CLEAR, source: "src-0", data: "no" }, "start-standby-leader", "even on an empty volume (it clones the source)"],
    ["tick", { ...NAMED, ...FRESH, ...CLEAR, data: "no" }, "initdb", "an empty volume, no restore"],
    ["tick", { ...NAMED, ...FRESH, ...CLEAR, data: "no", restore: "yes" }, "restore", "an empty volume with restore.fromStanza"],
    ["tick", { ...NAMED, ...FRESH, "claim.0": "primary", data: "no" }, "hold-writes 0 primary", "never initdb while another pod takes writes"],
    ["tick", { ...NAMED, ...DOWN, ...CLEAR, data: "yes" }, "ask signal", "after initdb or a restore the rules are asked again"],
    ["tick", { ...NAMED, ...DOWN, ...CLEAR, data: "yes", signal: "no" }, "start-primary", "the named pod's own primary data"],
    ["tick", { ...NAMED, ...DOWN, ...CLEAR, data: "yes", signal: "yes" }, "start-standby-then-promote", "a former replica named the primary promotes later, when safe"],
    ["tick", { ...NAMED, ...FRESH, ...CLEAR, data: "yes", signal: "no" }, "start-primary", "after initdb, the major observed before it (none) is not asked again"],

    // Down, a replica: clone, rewind or start; the named pod's state only when it matters.
    ["tick", { ...REPLICA, ...FRESH }, "ask data", "a replica asks no other pod whether it may take writes"],
    ["tick", { ...REPLICA, ...FRESH, data: "no" }, "ask peer.0", "an empty volume needs the named pod"],
    ["tick", { ...REPLICA, ...FRESH, data: "no", "peer.0": "primary" }, "clone", "the named pod takes writes"],
    ["tick", { ...REPLICA, ...FRESH, data: "no", "peer.0": "standby 0/3000000" }, "wait-clone", "the named pod has not promoted yet"],
    ["tick", { ...REPLICA, ...FRESH, data: "no", "peer.0": "gone" }, "wait-clone", "the named pod is down"],
    ["tick", { ...REPLICA, ...FRESH, data: "no", "peer.0": "busy" }, "wait-clone", "the named pod is starting"],
    ["tick", { ...REPLICA, ...FRESH, data: "no", "peer.0": "unknown" }, "wait-clone", "the named pod cannot be asked"],
    ["tick", { ...REPLICA, ...FRESH, data: "no", "peer.0": "standby 0/3000000", source: "src-0" }, "clone", "a standby cluster's leader is cloned as a standby"],
    ["tick", { ...REPLICA, ...FRESH, data: "no", "peer.0": "primary", source: "src-0" }, "clone", "and a primary still"],
    ["tick", { ...REPLICA, ...DOWN, data: "yes" }, "ask signal", ""],
    ["tick", { ...REPLICA, ...DOWN, data: "yes", signal: "no" }, "ask peer.0", "a former primary that was killed"],
    ["tick", { ...REPLICA, ...DOWN, data: "yes", signal: "no", "peer.0": "primary" }, "rewind", "onto the new primary's timeline"],
    ["tick", { ...REPLICA, ...DOWN, data: "yes", signal: "no", "peer.0": "standby 0/3000000" }, "wait-rewind", "the new primary has not promoted: its timeline is not the new one yet"],
    ["tick", { ...REPLICA, ...DOWN, data: "yes", signal: "no", "peer.0": "gone" }, "wait-rewind", "never start writable when not named"],
    ["tick", { ...REPLICA, ...DOWN, data: "yes", signal: "yes" }, "start-replica", "a standby's data starts at once, asking nobody"],

    // Running, writable.
    ["tick", { ...NAMED, server: "running", recovery: "f" }, "primary", "the named primary"],
    ["tick", { ...REPLICA, server: "running", recovery: "f" }, "step-down", "a primary the config no longer names (two primaries otherwise)"],
    ["tick", { ...REPLICA, server: "running", recovery: "f", source: "src-0" }, "step-down", "stepping down comes first"],
    ["tick", { ...NAMED, server: "running", recovery: "f", source: "src-0" }, "primary-standby-enabled", "said, not acted on"],

    // Running in recovery.
    ["tick", { ...NAMED, ...STANDBY }, "ask wal", "a standby is asked what its wal receiver does"],
    ["tick", { ...NAMED, ...STANDBY, wal: "noanswer" }, "standby-unresponsive", ""],
    ["tick", { ...REPLICA, ...STANDBY, wal: "noanswer" }, "standby-unresponsive", ""],
    ["tick", { ...NAMED, ...STANDBY, wal: "streaming", source: "src-0" }, "lead-standby", "a standby cluster's named pod never promotes"],
    ["tick", { ...NAMED, ...STANDBY, wal: "none", source: "src-0" }, "lead-standby", "not even when it does not stream"],
    ["tick", { ...NAMED, ...STANDBY, wal: "none" }, "ask mine", "the named standby's own WAL first"],
    ["tick", { ...NAMED, ...STANDBY, wal: "none", mine: "noanswer" }, "wait-lsn", "no promotion without knowing what it holds"],
    ["tick", { ...NAMED, ...STANDBY, wal: "none", mine: MINE }, "ask peer.0", ""],
    ["tick", { ...NAMED, ...STANDBY, wal: "none", mine: MINE, "peer.0": "gone" }, "ask peer.2", "itself is skipped"],
    ["tick", { ...NAMED, ...STANDBY, wal: "none", mine: MINE, "peer.0": "gone", "peer.2": "gone" }, "promote", "a failover: every other pod gone"],
    ["tick", { ...NAMED, ...STANDBY, wal: "streaming", mine: MINE, "peer.0": "standby 0/5000000", "peer.2": "gone" }, "promote", "a switchover: the old primary stepped down with no more WAL than here"],
    ["tick", { ...NAMED, ...STANDBY, wal: "streaming", mine: MINE, "peer.0": "standby 0/4000000", "peer.2": "standby 0/1" }, "promote", "every other standby behind"],
    ["tick", { ...NAMED, ...STANDBY, wal: "streaming", mine: MINE, "peer.0": "primary" }, "hold-promote 0 primary", "the old primary still takes writes: never two"],
    ["tick", { ...NAMED, ...STANDBY, wal: "streaming", mine: MINE, "peer.0": "busy" }, "hold-promote 0 busy", "the old primary is shutting down and may still send WAL"],
    ["tick", { ...NAMED, ...STANDBY, wal: "streaming", mine: MINE, "peer.0": "unknown" }, "hold-promote 0 unknown", "a failed question is never read as safe"],
    ["tick", { ...NAMED, ...STANDBY, wal: "streaming", mine: MINE, "peer.0": "gone", "peer.2": "primary" }, "hold-promote 2 primary", "any pod, not only the old primary"],
    ["tick", { ...NAMED, ...STANDBY, wal: "streaming", mine: MINE, "peer.0": "standby 0/6000000", "peer.2": "primary" }, "hold-promote 2 primary", "a blocker wins over catching up"],
    ["tick", { ...NAMED, ...STANDBY, wal: "streaming", mine: MINE, "peer.0": "standby 0/6000000", "peer.2": "gone" }, "catch-up 0 0/6000000", "another standby holds more: stream it first, or history forks"],
    ["tick", { ...NAMED, ...STANDBY, wal: "streaming", mine: MINE, "peer.0": "standby 0/6000000", "peer.2": "standby 1/0" }, "catch-up 2 1/0", "the most advanced, by the high word"],
    ["tick", { ...NAMED, ...STANDBY, wal: "streaming", mine: MINE, "peer.0": "standby 0/7000000", "peer.2": "standby 0/6000000" }, "catch-up 0 0/7000000", "the first most advanced stays"],
    ["tick", { ...NAMED, ...STANDBY, wal: "streaming", mine: MINE, "peer.0": "standby 0/7000000", "peer.2": "standby 0/7000000" }, "catch-up 0 0/7000000", "a tie keeps the first"],
    ["tick", { ...NAMED, ...STANDBY, wal: "streaming", mine: "0/A0000000", "peer.0": "standby 0/9FFFFFFF", "peer.2": "gone" }, "promote", "LSNs compare as hexadecimal numbers"],
    ["tick", { ...NAMED, ...STANDBY, wal: "streaming", mine: "0/9", "peer.0": "standby 0/10", "peer.2": "gone" }, "catch-up 0 0/10", "0/10 is beyond 0/9"],
    ["tick", { ...NAMED, ...STANDBY, wal: "streaming", mine: "1/0", "peer.0": "standby 0/FFFFFFFF", "peer.2": "gone" }, "promote", "a higher high word wins"],
    ["tick", { ...NAMED, ...STANDBY, count: "2", wal: "streaming", mine: MINE, "peer.0": "gone" }, "promote", "a scaled-down cluster asks only its pods"],
    ["tick", { ...REPLICA, ...STANDBY, wal: "streaming" }, "follow-streaming", "a streaming replica asks nobody"],
    ["tick", { ...REPLICA, ...STANDBY, wal: "streaming", quiet: "500" }, "follow-streaming", ""],
    ["tick", { ...REPLICA, ...STANDBY, wal: "none", quiet: "5" }, "follow-lagging", "not streaming: not ready"],
    ["tick", { ...REPLICA, ...STANDBY, wal: "starting", quiet: "19" }, "follow-lagging", "not long enough to check for a fork"],
    ["tick", { ...REPLICA, ...STANDBY, wal: "none", quiet: "20" }, "ask peer.0", "long enough: is the named pod writable?"],
    ["tick", { ...REPLICA, ...STANDBY, wal: "none", quiet: "20", "peer.0": "primary" }, "follow-rewind", "a stale timeline: pg_rewind finds out"],
    ["tick", { ...REPLICA, ...STANDBY, wal: "none", quiet: "20", "peer.0": "standby 0/3000000" }, "follow-lagging", "never rewind onto a standby"],
    ["tick", { ...REPLICA, ...STANDBY, wal: "none", quiet: "20", "peer.0": "gone" }, "follow-lagging", ""],
    ["tick", { ...REPLICA, ...STANDBY, wal: "none", quiet: "20", since_rewind: "299" }, "follow-lagging", "at most once per 5 minutes, asking nobody"],
    ["tick", { ...REPLICA, ...STANDBY, wal: "none", quiet: "20", since_rewind: "300", "peer.0": "primary" }, "follow-rewind", ""],
    ["tick", { ...REPLICA, ...STANDBY, recovery: "x", wal: "streaming" }, "follow-streaming", "any answer but f is a standby"],

    // The gate, decided before the step.
    ["gate", { ...NAMED, named: "yes", server: "down" }, "none", "nothing runs"],
    ["gate", { ...NAMED, named: "yes", server: "exited" }, "none", ""],
    ["gate", { ...NAMED, named: "yes", server: "running" }, "ask recovery", ""],
    ["gate", { ...NAMED, named: "yes", server: "running", recovery: "noanswer" }, "none", ""],
    ["gate", { ...NAMED, named: "yes", server: "running", recovery: "f", gated: "yes" }, "open primary", "the named primary lets clients in"],
    ["gate", { ...NAMED, named: "yes", server: "running", recovery: "f" }, "fresh primary", "the named primary, open: nothing to change"],
    ["gate", { ...REPLICA, named: "no", server: "running", recovery: "f", gated: "yes" }, "none", "a primary that steps down does not open"],
    ["gate", { ...NAMED, named: "yes", ...STANDBY }, "ask wal", ""],
    ["gate", { ...NAMED, named: "yes", ...STANDBY, wal: "noanswer", quiet: "100" }, "none", "a standby that does not answer: nothing counted"],
    ["gate", { ...REPLICA, named: "no", ...STANDBY, wal: "streaming", gated: "yes" }, "open streaming", ""],
    ["gate", { ...REPLICA, named: "no", ...STANDBY, wal: "streaming" }, "fresh streaming", ""],
    ["gate", { ...NAMED, named: "yes", ...STANDBY, wal: "streaming" }, "fresh streaming", "a streaming standby asks nothing about the archive"],
    ["gate", { ...NAMED, named: "yes", ...STANDBY, wal: "none" }, "ask archive", "the named standby may be fed by the source's archive"],
    ["gate", { ...NAMED, named: "yes", ...STANDBY, wal: "none", archive: "yes", gated: "yes", quiet: "100" }, "open archive", ""],
    ["gate", { ...NAMED, named: "yes", ...STANDBY, wal: "none", archive: "yes", quiet: "100" }, "fresh archive", ""],
    ["gate", { ...NAMED, named: "yes", ...STANDBY, wal: "none", archive: "no", quiet: "2" }, "close", ""],
    ["gate", { ...REPLICA, named: "no", ...STANDBY, wal: "none", quiet: "0" }, "stale", "a replica is never fed by the archive; its silence is counted"],
    ["gate", { ...REPLICA, named: "no", ...STANDBY, wal: "none", quiet: "1" }, "stale", ""],
    ["gate", { ...REPLICA, named: "no", ...STANDBY, wal: "none", quiet: "2" }, "close", "not streaming for RDB_GATE_AFTER_SECONDS: refuse clients"],
    ["gate", { ...REPLICA, named: "no", ...STANDBY, wal: "stopping", quiet: "2", gated: "yes" }, "stale", "already shut"],
    ["gate-off", { ...REPLICA, named: "no", ...STANDBY, wal: "none", quiet: "100" }, "stale", "RDB_REPLICA_GATE=off never shuts"],
    ["gate-off", { ...REPLICA, named: "no", ...STANDBY, wal: "streaming", gated: "yes" }, "open streaming", "but opens one that is shut"],
    // Patroni's gate (GATE_WHILE_DOWN=on): it observes the server's state, in recovery and wal receiver at once.
    ["gate-patroni", { server: "down", gated: "no", named: "yes", quiet: "0" }, "down", "Patroni restarts its server on its own: gated rules first"],
    ["gate-patroni", { server: "down", gated: "yes", named: "yes", quiet: "0" }, "down", "the actor keeps the rules as they are"],
    ["gate-patroni", { server: "hung", gated: "no", named: "yes", quiet: "5" }, "hung", "a loaded primary that answers late is not gated"],
    ["gate-patroni", { server: "running", recovery: "f", wal: "none", gated: "no", named: "yes", quiet: "0" }, "fresh primary", ""],
    ["gate-patroni", { server: "running", recovery: "f", wal: "none", gated: "yes", named: "yes", quiet: "0" }, "open primary", "a promoted replica opens"],
    ["gate-patroni", { server: "running", recovery: "t", wal: "streaming", gated: "yes", named: "yes", quiet: "9" }, "open streaming", ""],
    ["gate-patroni", { server: "running", recovery: "t", wal: "none", gated: "no", named: "yes", quiet: "1" }, "ask archive", "any Patroni member may be the standby leader"],
    ["gate-patroni", { server: "running", recovery: "t", wal: "none", archive: "no", gated: "no", named: "yes", quiet: "1" }, "stale", ""],
    ["gate-patroni", { server: "running", recovery: "t", wal: "none", archive: "no", gated: "no", named: "yes", quiet: "2" }, "close", ""],
    ["gate-patroni", { server: "running", recovery: "t", wal: "none", archive: "yes", gated: "yes", named: "yes", quiet: "40" }, "open archive", ""],
    ["gate", { server: "hung", gated: "no", named: "yes", quiet: "0" }, "hung", "the same rule in the manual mode (its supervisor never observes hung)"],
    // The fact "wal" (decide_wal): the same receiver, on the newest timeline this server knows, at two looks a tick apart.
    ["wal", { status: "streaming", pid: "4242", tli: "8", newest: "8", seen: "-" }, "connecting 4242", "first seen: its primary may be about to refuse it"],
    ["wal", { status: "streaming", pid: "4242", tli: "8", newest: "8", seen: "4242" }, "streaming 4242", "the same receiver a tick later: the primary took it"],
    ["wal", { status: "streaming", pid: "4250", tli: "8", newest: "8", seen: "4242" }, "connecting 4250", "another receiver: the one seen before has gone"],
    ["wal", { status: "streaming", pid: "4242", tli: "1", newest: "0", seen: "4242" }, "streaming 4242", "timeline 1 has no history file"],
    ["wal", { status: "streaming", pid: "4242", tli: "7", newest: "8", seen: "4242" }, "old-timeline -", "an old timeline the primary has left: up to the fork at most"],
    ["wal", { status: "streaming", pid: "4242", tli: "7", newest: "8", seen: "-" }, "old-timeline -", ""],
    ["wal", { status: "none", pid: "0", tli: "0", newest: "8", seen: "4242" }, "none -", "no receiver: nothing to remember"],
    ["wal", { status: "waiting", pid: "4242", tli: "7", newest: "8", seen: "4242" }, "waiting -", "any other status passes as it is"],
    ["wal", { status: "noanswer", pid: "0", tli: "0", newest: "0", seen: "4242" }, "noanswer -", "the server did not answer"],
    ["gate", { ...REPLICA, named: "no", ...STANDBY, wal: "connecting", quiet: "2" }, "close", "a receiver not yet confirmed does not stream"],
    ["gate-patroni", { server: "running", recovery: "t", wal: "connecting", gated: "yes", named: "yes", quiet: "30" }, "ask archive", "nor opens the gate"],
    ["gate-patroni", { server: "running", recovery: "t", wal: "connecting", archive: "no", gated: "yes", named: "yes", quiet: "30" }, "stale", ""],
    // The wait before the next tick (decide_pace): a tick stalled longer than a peer takes to be called gone.
    ["pace", { elapsed_ms: "40", hurried: "no" }, "sleep", "a usual tick"],
    ["pace", { elapsed_ms: "2999", hurried: "no" }, "sleep", "slow, but no peer can have been called gone meanwhile"],
    ["pace", { elapsed_ms: "3000", hurried: "no" }, "now", "stalled as long as peers.sh waits: another pod may have promoted"],
    ["pace", { elapsed_ms: "25112", hurried: "no" }, "now", "the pod was frozen: step down at once if no longer named"],
    ["pace", { elapsed_ms: "25112", hurried: "yes" }, "sleep", "one tick at once in a row: a starved pod does not spin"],
    ["pace", { elapsed_ms: "40", hurried: "yes" }, "sleep", ""],
];

/** The lines the one bash prints, one a row. */
function runTable(rows: Row[]): { lines: string[]; stderr: string; status: number | null } {
    const empty = fs.mkdtempSync(path.join(os.tmpdir(), "decide-"));
    try {
        const script = [
            "set -uo pipefail",
            `. "${DECIDE_GATE}"`,
            `. "${DECIDE}"`,
            "while IFS=$'\\t' read -r -a row; do",
            '    case "${row[0]}" in',
            '    tick) out=$(decide_tick "${row[@]:1}") ;;',
            '    gate) out=$(decide_gate "${row[@]:1}") ;;',
            '    gate-off) out=$(REPLICA_GATE=off decide_gate "${row[@]:1}") ;;',
            '    gate-patroni) out=$(GATE_WHILE_DOWN=on decide_gate "${row[@]:1}") ;;',
            '    pace) out=$(decide_pace "${row[@]:1}") ;;',
            '    wal) out=$(decide_wal "${row[@]:1}") ;;',
            "    esac",
            '    rc=$?',
            '    [ "$rc" = 0 ] || out="$out (status $rc)"',
            '    printf "%s\\n" "${out//$\'\\n\'/ / }"',
            "done",
        ].join("\n");
        const input = rows.map(([rule, facts]) => [rule, ...Object.entries(facts).map(([k, v]) => `${k}=${v}`)].join("\t")).join("\n") + "\n";
        // A PATH with nothing in it: the rules may use bash and nothing else.
        const r = spawnSync(BASH, ["--norc", "--noprofile", "-c", script], { input, env: { PATH: empty }, encoding: "utf8" });
        return { lines: r.stdout.split("\n").slice(0, -1), stderr: r.stderr, status: r.status };
    } finally {
        fs.rmSync(empty, { recursive: true, force: true });
    }
}

describe("the supervisors' rules (decide.sh, and the gate of both modes in decide-gate.sh), as a table", () => {
    it(`gives every row of the table (${TABLE.length} rows) its action, with bash alone`, () => {
        const r = runTable(TABLE);
        assert.strictEqual(r.stderr, "");
        assert.strictEqual(r.status, 0);
        const wrong = TABLE.flatMap(([rule, facts, want, why], i) =>
            r.lines[i] === want ? [] : [`row ${i} (${rule}${why ? `, ${why}` : ""}): want "${want}", got "${r.lines[i]}" from ${JSON.stringify(facts)}`],
        );
        assert.deepStrictEqual(wrong, []);
        assert.strictEqual(r.lines.length, TABLE.length);
    });

    it("runs nothing when sourced", () => {
        for (const file of [DECIDE_GATE, DECIDE]) {
            const r = spawnSync(BASH, ["--norc", "--noprofile", "-c", `set -euo pipefail; . "${file}"; echo sourced`], { env: { PATH: "/nonexistent" }, encoding: "utf8" });
            assert.deepStrictEqual([r.status, r.stdout, r.stderr], [0, "sourced\n", ""], file);
        }
    });

    it("names every action it can take in the table, and each mode's supervisor acts on each", () => {
        const entry = fs.readFileSync(ENTRYPOINT, "utf8");
        const patroniGate = fs.readFileSync(PATRONI_GATE, "utf8");
        // The actions a file's rules print; decide-gate.sh's decide_wal prints a fact, not an action, and is left out.
        const actionsOf = (file: string) => {
            const text = fs.readFileSync(file, "utf8").replace(/^decide_wal\(\) \{\n[\s\S]*?\n\}\n/m, "");
            return new Set([...text.matchAll(/echo "?([a-z-]+)/g)].map((m) => m[1]).filter((a) => a !== "ask"));
        };
        // Those that come through a variable: "hold-writes $i $s" and the like are matched above.
        const tabled = new Set(TABLE.map(([, , want]) => want.split(" ")[0]));
        const tick = actionsOf(DECIDE);
        const gate = actionsOf(DECIDE_GATE);
        assert.deepStrictEqual([...tick, ...gate].filter((a) => !tabled.has(a)), [], "actions without a row");
        for (const a of tick) assert.match(entry, new RegExp(`[\\s|(]${a}( \\||\\))`), `step has no case for ${a}`);
        // A case label naming the action, alone or among others ("none | down | hung)", "\"open primary\" | ...").
        const caseFor = (a: string) => new RegExp(`^\\s+[a-z "|-]*\\b${a}\\b[a-z "|-]*\\)`, "m");
        for (const a of gate) {
            assert.match(entry, caseFor(a), `the manual gate_step has no case for ${a}`);
            assert.match(patroniGate, caseFor(a), `Patroni's gate_tick has no case for ${a}`);
        }
    });
});

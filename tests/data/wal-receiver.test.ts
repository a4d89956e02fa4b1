/**
 * What the gates of both modes take for "streaming" (gate.sh WAL_RECEIVER_SQL and wal_fact, decide-gate.sh
 * decide_wal), against real servers. Two old primaries (a and d) come back as standbys of the server promoted in
 * their place (b), without a rewind: a wrote into a WAL segment after the fork, so b refuses its receiver, which
 * exits; d stopped in the fork's segment, so b streams it the old timeline up to the fork, then it waits. Both try
 * again every wal_retrieve_retry_interval, and PostgreSQL 15 says "streaming" for a moment at each try (counted
 * here from inside the server, once a millisecond). The gate must take none of those moments for streaming, and
 * must take c, a standby that streams from b, for streaming by its second look.
 */
import * as assert from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { sleep } from "../harness/cluster";
import { PG_BIN } from "../harness/pod";
import { scriptPath } from "../scriptFolders";

const AS_POSTGRES = ["setpriv", "--reuid=postgres", "--regid=postgres", "--init-groups", "--"];
/** A refused receiver is started again this often; short, so that a few seconds hold many attempts. */
const RETRY = "100ms";

class Server {
    readonly pgdata: string;
    readonly socket: string;
    constructor(
        readonly base: string,
        readonly name: string,
    ) {
        this.pgdata = path.join(base, name, "data");
        this.socket = path.join(base, name, "sock");
        fs.mkdirSync(this.socket, { recursive: true });
        spawnSync("chown", ["-R", "postgres:postgres", path.join(base, name)]);
    }

    get env(): Record<string, string> {
        return { PATH: `${PG_BIN}:/usr/bin:/bin`, HOME: this.base, LANG: "C.UTF-8", PGDATA: this.pgdata, PGHOST: this.socket, PGPORT: "5432", PGUSER: "postgres", PGDATABASE: "postgres", RDB_RUN_DIR: this.base };
    }

    sh(command: string): string {
        const r = spawnSync(AS_POSTGRES[0], [...AS_POSTGRES.slice(1), "/bin/bash", "-c", command], { env: this.env, encoding: "utf8", timeout: 120000 });
        if (r.status !== 0) throw new Error(`${this.name}: ${command} failed (${r.status}): ${r.stderr}`);
        return r.stdout.trim();
    }

    start(): void {
        const flags = `-c unix_socket_directories=${this.socket} -c listen_addresses='' -c wal_retrieve_retry_interval=${RETRY}`;
        this.sh(`pg_ctl -D "$PGDATA" -l ${path.join(this.base, this.name)}/server.log -w -t 120 -o "${flags}" start >/dev/null`);
    }

    stop(): void {
        if (fs.existsSync(path.join(this.pgdata, "postmaster.pid"))) this.sh('pg_ctl -D "$PGDATA" -m fast -w stop >/dev/null');
    }

    /** Follows `primary` from the next start on. */
    follow(primary: Server): void {
        fs.appendFileSync(path.join(this.pgdata, "postgresql.auto.conf"), `primary_conninfo = 'host=${primary.socket} port=5432 user=postgres'\n`);
        fs.writeFileSync(path.join(this.pgdata, "standby.signal"), "");
        spawnSync("chown", ["postgres:postgres", path.join(this.pgdata, "postgresql.auto.conf"), path.join(this.pgdata, "standby.signal")]);
    }
}

describe("the gates' view of a WAL receiver, on PostgreSQL's own servers", function () {
    this.timeout(180000);
    const base = fs.mkdtempSync(path.join(os.tmpdir(), "rdb-walrcv-"));
    fs.chmodSync(base, 0o755);
    const a = new Server(base, "a");
    const b = new Server(base, "b");
    const c = new Server(base, "c");
    const d = new Server(base, "d");

    async function until(what: string, check: () => boolean): Promise<void> {
        const deadline = Date.now() + 60000;
        while (!check()) {
            if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
            await sleep(100);
        }
    }

    /** `count` looks `gapMs` apart, as a gate's ticks: what wal_fact made of each, and the answer it read. */
    function looks(s: Server, count: number, gapMs: number): { fact: string; raw: string }[] {
        const script = [
            "set -euo pipefail",
            `. "${scriptPath("common", "decide-gate.sh")}"`,
            `. "${scriptPath("common", "gate.sh")}"`,
            `for ((i = 0; i < ${count}; i++)); do`,
            '    raw=$(psql -X -q -A -t -c "SELECT $WAL_RECEIVER_SQL")',
            '    wal_fact "${raw% *}" "${raw#* }"',
            '    echo "$WAL|$raw"',
            `    sleep ${gapMs / 1000}`,
            "done",
        ].join("\n");
        return s.sh(script).split("\n").map((l) => ({ fact: l.split("|")[0], raw: l.split("|")[1] }));
    }

    /** The gate's own column (WAL_RECEIVER_SQL), as gate.sh declares it. */
    const column = () => a.sh(`. "${scriptPath("common", "gate.sh")}"; printf '%s' "$WAL_RECEIVER_SQL"`);

    /** Evaluates the gate's column inside the server once a millisecond until the receiver said "streaming" at `polls`
     * polls, for `pids` receivers, or 20 s passed: how often it said so, and the distinct answers it gave then. */
    function glimpses(s: Server, polls: number, pids: number): { polls: number; answers: string[] } {
        // A standby takes no temporary table: the answers come back in a notice.
        const out = s.sh(`psql -X -q -A -t -v ON_ERROR_STOP=1 2>&1 <<'SQL'
DO $$
DECLARE r text; n int := 0; answers text[] := '{}'; deadline timestamptz := clock_timestamp() + interval '20 s';
BEGIN
    WHILE (n < ${polls} OR (SELECT count(DISTINCT split_part(x, ' ', 2)) FROM unnest(answers) AS x) < ${pids})
          AND clock_timestamp() < deadline LOOP
        SELECT ${column()} INTO r;
        IF r LIKE 'streaming %' THEN
            n := n + 1;
            IF NOT r = ANY (answers) THEN answers := answers || r; END IF;
        END IF;
        PERFORM pg_sleep(0.001);
    END LOOP;
    RAISE NOTICE 'glimpses %|%', n, array_to_string(answers, '|');
END $$;
SQL`);
        const m = out.match(/glimpses (\d+)\|(.*)/);
        assert.ok(m, out);
        return { polls: Number(m[1]), answers: m[2] ? m[2].split("|") : [] };
    }

    /** What wal_fact makes of these answers, given one after the other as a gate's looks. */
    function factsOf(answers: string[]): string[] {
        const script = ["set -euo pipefail", `. "${scriptPath("common", "decide-gate.sh")}"`, `. "${scriptPath("common", "gate.sh")}"`, 'while read -r raw; do wal_fact "$raw"; echo "$WAL"; done'].join("\n");
        const r = spawnSync("/bin/bash", ["-c", script], { input: answers.join("\n") + "\n", env: { PATH: "/usr/bin:/bin", RDB_RUN_DIR: base }, encoding: "utf8" });
        assert.strictEqual(r.status, 0, r.stderr);
        return r.stdout.trim().split("\n");
    }

    before(async () => {
        a.sh('initdb -D "$PGDATA" -U postgres --auth-local=trust -E UTF8 --no-locale >/dev/null');
        fs.appendFileSync(path.join(a.pgdata, "pg_hba.conf"), "local replication all trust\n");
        a.start();
        a.sh("psql -X -q -c 'CREATE TABLE t AS SELECT generate_series(1, 1000) AS x'");
        for (const s of [b, d]) {
            s.sh(`pg_basebackup -D "$PGDATA" -h ${a.socket} -U postgres -X stream`);
            s.follow(a);
            s.start();
        }
        // b takes the writes in place of a, which goes on alone on the old timeline with d: they have forked.
        b.sh('pg_ctl -D "$PGDATA" -w promote >/dev/null');
        a.sh("psql -X -q -c 'INSERT INTO t SELECT generate_series(1, 1000)'");
        const lsn = a.sh("psql -X -A -t -c 'SELECT pg_current_wal_lsn()'");
        await until("d to replay a's write after the fork", () => d.sh(`psql -X -A -t -c "SELECT pg_last_wal_replay_lsn() >= '${lsn}'"`) === "t");
        d.stop();
        // a moves on to later segments, past what b's history has of the old timeline.
        a.sh("psql -X -q -c 'SELECT pg_switch_wal()' -c 'INSERT INTO t SELECT generate_series(1, 1000)' -c CHECKPOINT");
        a.stop();
        for (const s of [a, d]) {
            s.follow(b);
            s.start();
        }
        // c streams from b, as a replica should.
        c.sh(`pg_basebackup -D "$PGDATA" -h ${b.socket} -U postgres -X stream`);
        c.follow(b);
        c.start();
    });

    after(() => {
        for (const s of [c, a, d, b]) {
            try {
                s.stop();
            } catch {
                // Cleaned up with the directory below.
            }
        }
        fs.rmSync(base, { recursive: true, force: true });
    });

    const cases: [server: () => Server, shape: string, log: RegExp, want: { polls: number; pids: number }][] = [
        [() => a, "refused at each try, by a new receiver each time", /requested starting point .* is not in this server's history/, { polls: 2, pids: 2 }],
        [() => d, "streamed the old timeline up to the fork at each try, by the same receiver", /primary server contains no more WAL on requested timeline 1/, { polls: 2, pids: 1 }],
    ];
    for (const [server, shape, log, want] of cases) {
        it(`never takes for streaming an old primary's receiver, ${shape}, which PostgreSQL calls streaming for a moment`, () => {
            const s = server();
            assert.strictEqual(s.sh("psql -X -A -t -c 'SELECT pg_is_in_recovery()'"), "t");
            const seen = glimpses(s, want.polls, want.pids);
            const pids = new Set(seen.answers.map((x) => x.split(" ")[1]));
            assert.match(fs.readFileSync(path.join(base, s.name, "server.log"), "utf8"), log);
            // What the old rule (the status alone) would have taken for streaming, had a tick fallen there.
            assert.ok(seen.polls >= want.polls && pids.size >= want.pids, `PostgreSQL said "streaming" at ${seen.polls} polls: ${seen.answers.join(", ")}`);
            // Each such moment, seen at two looks in a row (the worst a gate's ticks could fall), and the gate's looks.
            const worst = factsOf(seen.answers.flatMap((x) => [x, x]));
            const facts = looks(s, 20, 250);
            const told = [...new Set(facts.map((f) => `${f.fact} (${f.raw})`))];
            console.log(`      ${s.name}: "streaming" at ${seen.polls} polls, answers ${seen.answers.join(", ")}: taken for ${[...new Set(worst)].join(", ")}; the gate's 20 looks: ${told.join(", ")}`);
            assert.deepStrictEqual(worst.filter((f) => f === "streaming"), [], worst.join(" "));
            assert.deepStrictEqual(facts.filter((f) => f.fact === "streaming"), [], told.join(", "));
        });
    }

    it("takes a receiver that streams for streaming by its second look, and at every look after", () => {
        // A fresh look (a restarted supervisor) has seen no receiver before: the first is only "connecting".
        assert.deepStrictEqual(looks(c, 6, 1000).map((f) => f.fact), ["connecting", ...Array(5).fill("streaming")]);
    });
});

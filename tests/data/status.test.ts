/**
 * bin/replicated-db-status, the operator's "which replica to promote" command, run against the harness's
 * pods through a stand-in kubectl that execs into them as the kubelet would.
 */
import * as assert from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { Cluster } from "../harness/cluster";
import { PG_BIN } from "../harness/pod";

describe("replicated-db-status", function () {
    this.timeout(120000);
    const c = new Cluster({ args: { replicas: 2 } });
    const superuser = { user: "postgres", database: "postgres" };

    before(() => c.up());
    after(() => c.cleanup());

    function status(): { code: number | null; out: string } {
        const dir = path.join(c.base, "kubectl");
        fs.mkdirSync(dir, { recursive: true });
        const pods = [...c.pods.values()].filter((p) => p.running);
        // Only what the command uses: `get pods -o name` and `exec POD -c postgres -- CMD...`.
        const cases = pods.map((p) => `  ${p.name}) pid=${p.pid} ;;`).join("\n");
        fs.writeFileSync(
            path.join(dir, "kubectl"),
            `#!/bin/bash
set -eu
if [ "$1" = get ]; then
${pods.map((p) => `  echo pod/${p.name}`).join("\n")}
  exit 0
fi
[ "$1" = exec ] || exit 2
pod=$4
case $pod in
${cases}
  *) exit 1 ;;
esac
shift 7
exec nsenter -t "$pid" -m -- setpriv --reuid=999 --regid=999 --groups=999 -- env PATH=${PG_BIN}:/usr/bin:/bin "$@"
`,
            { mode: 0o755 },
        );
        const r = spawnSync(path.join(__dirname, "..", "..", "bin", "replicated-db-status"), ["-n", "default", "db"], {
            env: { PATH: `${dir}:${process.env.PATH}` },
            encoding: "utf8",
        });
        return { code: r.status, out: r.stdout + r.stderr };
    }

    it("names the replica that has replayed the most when they have received the same", async () => {
        c.sql(2, "SELECT pg_wal_replay_pause()", superuser);
        c.sql(0, "CREATE TABLE t AS SELECT g FROM generate_series(1, 1000) g");
        await c.until("replica 1 to replay the table", () => c.sql(1, "SELECT count(*) FROM t") === "1000");
        const r = status();
        assert.strictEqual(r.code, 0, r.out);
        assert.match(r.out, /^db-0 +primary /m);
        assert.match(r.out, /^db-2 +replica /m);
        assert.match(r.out, /most advanced replica: db-1$/m);
        c.sql(2, "SELECT pg_wal_replay_resume()", superuser);
    });

    it("names the other replica when the first falls behind", async () => {
        await c.pod(1).stop("SIGINT");
        c.sql(0, "INSERT INTO t SELECT g FROM generate_series(1, 1000) g");
        await c.until("replica 2 to replay", () => c.sql(2, "SELECT count(*) FROM t") === "2000");
        const r = status();
        assert.match(r.out, /most advanced replica: db-2$/m);
        c.start(1);
        await c.waitReady(1);
    });
});

/**
 * A data-plane run in miniature, for tests/data/harness.test.ts to start through isolated.sh: a one-pod
 * cluster, etcd and a write load, with a marker row of its own. Prints `ready {...}` once up; on the line
 * `check` prints `result {...}`: the marker its pod's address serves and the postgres processes it can see
 * that are not its own pod's; exits when stdin closes.
 *
 *   tests/harness/isolated.sh ts-node --transpile-only tests/harness/isolation-fixture.ts MARKER
 */
import * as fs from "fs";
import * as readline from "readline";
import { Cluster } from "./cluster";
import { Etcd } from "./etcd";
import { Writer } from "./writer";

async function main(): Promise<void> {
    const marker = process.argv[2];
    if (!/^[a-z0-9-]+$/.test(marker ?? "")) throw new Error(`marker is ${JSON.stringify(marker)}; allowed: lower-case letters, digits and -`);
    const c = new Cluster({ name: "db", args: { replicas: 0 } });
    const etcd = new Etcd(c.base);
    let writer: Writer | undefined;
    try {
        await c.up();
        await etcd.start(`${c.base}/etcd.log`);
        c.sql(0, "CREATE TABLE marker (note text NOT NULL)");
        c.sql(0, `INSERT INTO marker (note) VALUES ('${marker}')`);
        writer = new Writer(c.hosts(0), c.secret("app-password"), "marker");
        const own = fs.readlinkSync(`/proc/${c.pod(0).pid}/ns/mnt`);
        console.log(`ready ${JSON.stringify({ pidns: fs.readlinkSync("/proc/self/ns/pid"), netns: fs.readlinkSync("/proc/self/ns/net"), base: c.base })}`);
        for await (const line of readline.createInterface({ input: process.stdin })) {
            if (line !== "check") continue;
            const foreign = fs.readdirSync("/proc").filter((p) => {
                try {
                    return /^[0-9]+$/.test(p) && fs.readFileSync(`/proc/${p}/comm`, "utf8").trim() === "postgres" && fs.readlinkSync(`/proc/${p}/ns/mnt`) !== own;
                } catch {
                    return false;
                }
            });
            const served = c.sql(0, "SELECT string_agg(DISTINCT note, ',') FROM marker WHERE note <> 'load'");
            console.log(`result ${JSON.stringify({ served, foreign: foreign.length })}`);
        }
    } finally {
        await writer?.stop();
        await etcd.stop();
        await c.cleanup();
    }
}

main().catch((err) => {
    console.error(err);
    process.exit(1);
});

/**
 * Planned switchovers (primaryOrdinal 0 -> 1 -> 2 -> 0) and failovers after a SIGKILL of the primary, in
 * the script-driven mode, with clients connected the way applications connect (tests/harness/clients):
 * writers through the rw Service, libpq and pgjdbc multi-host strings; readers through the ro Service, the
 * standby strings and directly on every pod; a sampler polling every pod's recovery state every ~20 ms.
 * After every step every pod must stream from the one primary on its timeline; at the end no acknowledged
 * row may be missing, two pods must never have been writable at once, and no gated read may have come
 * from a standby that had not streamed for more than the grace.
 */
import * as assert from "assert";
import * as path from "path";
import { Cluster } from "../harness/cluster";
import { podAddress } from "../harness/pod";
import { analyse } from "../harness/clients/analysis";
import { GATED_READERS, Load } from "../harness/clients";
import { CREATE_TABLE, TABLE } from "../harness/clients/protocol";
import { mostAdvanced, signatures, superSql, untilConverged } from "../harness/clients/topology";

const ORDINALS = [0, 1, 2];

describe("switchover and failover under application load (primaryOrdinal)", function () {
    this.timeout(900000);
    const c = new Cluster({ args: { replicas: 2, synchronousReplicas: 1 }, restartExited: true });
    let load: Load;
    let primary = 0;
    let broken = "";
    const steps: string[] = [];

    /** One step; a step that does not converge leaves the cluster unusable for the next ones. */
    async function step(label: string, body: () => Promise<void>): Promise<void> {
        if (broken) throw new Error(`not run: an earlier step failed (${broken})`);
        const from = load.acked();
        load.mark(label);
        try {
            await body();
            const ms = await untilConverged(c, primary, ORDINALS, label);
            // Every writer gets through again after the step (the Services and strings follow the primary).
            await load.untilAcked(3, 60000, from);
            steps.push(`${label}: converged ${(ms / 1000).toFixed(1)} s after the last action`);
        } catch (e) {
            broken = label;
            throw e;
        }
    }

    before(async () => {
        await c.up();
        await untilConverged(c, 0, ORDINALS, "start");
        await superSql(c, 0, `${CREATE_TABLE}; ALTER TABLE ${TABLE} OWNER TO app`, "app");
        // The app user sees pg_stat_wal_receiver's status only with pg_read_all_stats (test setup only).
        await superSql(c, 0, "GRANT pg_read_all_stats TO app");
        load = new Load(c, { ordinals: ORDINALS, primary: 0, patroni: false, dir: path.join(c.base, "load") });
        await load.start();
    });

    after(async function () {
        this.timeout(120000);
        if (load) await load.stop();
        if (steps.length) console.log(steps.join("\n"));
        await c.cleanup();
    });

    it("three planned switchovers 0 -> 1 -> 2 -> 0: every pod streams from the new primary on its timeline", async () => {
        for (const next of [1, 2, 0]) {
            await step(`switchover db-${primary} -> db-${next}`, async () => {
                await c.apply({ primaryOrdinal: next });
                primary = next;
            });
        }
    });

    it("two failovers after SIGKILL of the primary: the most advanced replica is chosen, the killed pod rejoins", async () => {
        for (let k = 0; k < 2; k++) {
            await step(`SIGKILL db-${primary}, failover`, async () => {
                const killed = primary;
                await c.stop(killed, "SIGKILL");
                primary = await mostAdvanced(c, ORDINALS.filter((i) => i !== killed));
                await c.apply({ primaryOrdinal: primary });
                await untilConverged(c, primary, ORDINALS.filter((i) => i !== killed), `db-${primary} promoted`);
                // The kubelet restarts the killed pod; it must come back as a replica of the new primary.
                c.start(killed);
            });
        }
    });

    it("lost no acknowledged row, never had two writable pods, served no stale gated read", async () => {
        await load.stop();
        const ids = await superSql(c, primary, `SELECT string_agg(id, ' ') FROM ${TABLE}`, "app").catch((e) => {
            broken ||= `the final primary db-${primary} did not answer: ${e.message}`;
            return undefined;
        });
        const findings = analyse({
            specs: load.specs,
            samplesFile: load.samplesFile,
            events: load.events,
            finalIds: ids === undefined ? undefined : new Set(ids.split(" ")),
            podOf: (addr) => ORDINALS.find((i) => podAddress(i) === addr) ?? -1,
            gated: GATED_READERS,
            end: Date.now(),
        });
        console.log(findings.summary);
        const sigs = signatures(c, ORDINALS).filter((l) => /forked off|not a child of|requested timeline|pg_rewind failed/.test(l));
        assert.deepStrictEqual([...findings.failures, ...sigs, ...(ids === undefined ? [broken] : [])], [], "see the summary above");
    });
});

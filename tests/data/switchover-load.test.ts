/**
 * Planned switchovers (primaryOrdinal 0 -> 1 -> 2 -> 0) and failovers after a SIGKILL of the primary, in
 * the script-driven mode, with clients connected the way applications connect (tests/harness/clients):
 * writers through the rw Service, libpq and pgjdbc multi-host strings; readers through the ro Service, the
 * standby strings and directly on every pod; a sampler polling every pod's recovery state every ~20 ms.
 * After every step every pod must stream from the one primary on its timeline; at the end no acknowledged
 * row may be missing, two pods must never have been writable at once, no pod may have forked, and no gated
 * read may have come from a standby that had not streamed for more than the grace.
 */
import * as assert from "assert";
import { Cluster } from "../harness/cluster";
import { Scenario } from "../harness/clients/scenario";
import { mostAdvanced, switchoverRounds, untilConverged } from "../harness/clients/topology";

const ORDINALS = [0, 1, 2];
/** Rounds of three switchovers; each round is another chance for the races a switchover under load has. */
const ROUNDS = switchoverRounds();

describe("switchover and failover under application load (primaryOrdinal)", function () {
    this.timeout(900000);
    const c = new Cluster({ args: { replicas: 2, synchronousReplicas: 1 }, restartExited: true });
    const s = new Scenario(c, ORDINALS, false);

    before(() => s.setUp());
    after(async function () {
        this.timeout(120000);
        await s.tearDown();
    });

    it(`${ROUNDS} round(s) of planned switchovers 0 -> 1 -> 2 -> 0: every pod streams from the new primary on its timeline`, async () => {
        for (const next of Array.from({ length: ROUNDS }, () => [1, 2, 0]).flat()) {
            await s.step(`switchover db-${s.primary} -> db-${next}`, async () => {
                await c.apply({ primaryOrdinal: next });
                s.primary = next;
            });
        }
    });

    it("two failovers after SIGKILL of the primary: the most advanced replica is chosen, the killed pod rejoins", async () => {
        for (let k = 0; k < 2; k++) {
            await s.step(`SIGKILL db-${s.primary}, failover`, async () => {
                const killed = s.primary;
                const survivors = ORDINALS.filter((i) => i !== killed);
                await c.stop(killed, "SIGKILL");
                s.primary = await mostAdvanced(c, survivors);
                await c.apply({ primaryOrdinal: s.primary });
                await untilConverged(c, s.primary, survivors, `db-${s.primary} promoted`);
                // The kubelet restarts the killed pod; it must come back as a replica of the new primary.
                c.start(killed);
            });
        }
    });

    it("lost no acknowledged row, never had two writable pods, no pod forked, served no stale gated read", async () => {
        const findings = await s.check();
        console.log(findings.summary);
        assert.deepStrictEqual(findings.failures, [], "see the summary above");
    });
});

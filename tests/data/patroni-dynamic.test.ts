/**
 * A change of Patroni's timings (the `patroni` arg) reaches a running cluster: Patroni takes bootstrap.dcs at
 * the first bootstrap only, so the primary's patroni.sh (patroni-dynamic.sh) applies the rendered dynamic
 * settings. The cluster starts with Patroni's defaults; the args change to the fast choice and are applied as
 * `pulumi up` and the kubelet would (the ConfigMaps refresh in the running pods first, then the StatefulSet's
 * rollout replaces the pods, highest ordinal first).
 */
import * as assert from "assert";
import * as fs from "fs";
import { Cluster, sleep } from "../harness/cluster";
import { PATRONI_IMAGE } from "../harness/patroni";
import { patroniRequest } from "../harness/patroniApi";
import { FAST_TIMING } from "../../components/engines/postgres/topologies/patroni/resolve";

const ORDINALS = [0, 1, 2];
const superuser = { user: "postgres", database: "postgres" };

describe("Patroni's timings changed on a running cluster", function () {
    this.timeout(600000);
    const c = new Cluster({ args: { replicas: 2, synchronousReplicas: 1, failover: "patroni", image: PATRONI_IMAGE } });
    const writable = () => ORDINALS.filter((i) => c.pod(i).running && c.psql(i, "SELECT pg_is_in_recovery()", superuser).stdout.trim() === "f");

    /** The cluster-wide configuration as Patroni's REST API serves it (any member answers from the store). */
    async function config(ordinal: number): Promise<Record<string, number>> {
        const r = await patroniRequest(c, ordinal, "/config", { timeoutMs: 5000 });
        assert.strictEqual(r.status, 200, `GET /config: HTTP ${r.status} ${r.text}`);
        return JSON.parse(r.text);
    }
    const timing = (x: Record<string, number>) => [x.ttl, x.loop_wait, x.retry_timeout, x.primary_start_timeout];

    /** The remaining seconds of the leader lock in the store: the leader ConfigMap's ttl annotation less the time
     * since its renewTime, both written by Patroni at each renewal (its Kubernetes store, on the real API). */
    async function leaderKeyTtl(): Promise<number> {
        const cm = await c.node!.get("default", "configmaps", "db-leader");
        const a = cm?.metadata?.annotations ?? {};
        assert.ok(a.ttl !== undefined && a.renewTime !== undefined, `no leader lock: ${JSON.stringify(cm?.metadata)}`);
        return Math.floor(Number(a.ttl) - (Date.now() - Date.parse(a.renewTime)) / 1000);
    }

    /** The largest remaining ttl of the leader key over `ms`: right after a renewal it is the ttl Patroni ran. */
    async function largestLeaderTtl(ms: number): Promise<number> {
        let most = 0;
        for (const end = Date.now() + ms; Date.now() < end; await sleep(250)) most = Math.max(most, await leaderKeyTtl());
        return most;
    }

    before(async () => {
        await c.up();
        await c.until("one primary", () => writable().length === 1, 120000);
    });
    after(() => c.cleanup());

    it("starts with Patroni's defaults", async () => {
        assert.deepStrictEqual(timing(await config(writable()[0])), [30, 10, 10, 300]);
        // Renewed every 10 s with ttl 30: within 12 s the key shows more than 20 s left.
        assert.ok((await largestLeaderTtl(12000)) > 21, "the leader key is written with ttl 30");
    });

    it("does not apply new timings from a pod whose fence still runs the old bound (the ConfigMap refreshed before the rollout)", async () => {
        await c.apply({ patroni: { ...FAST_TIMING } });
        const primary = writable()[0];
        await c.until(
            "the primary to notice the new render and hold it back",
            () => fs.readFileSync(c.logFile(primary), "utf8").includes("this pod's fence runs 10 s: not applied until this pod is replaced"),
            30000,
        );
        await sleep(6000);
        assert.deepStrictEqual(timing(await config(primary)), [30, 10, 10, 300]);
    });

    it("applies them once the rollout has replaced the pods: /config and the leader lock's ttl change", async () => {
        for (const i of [...ORDINALS].reverse()) {
            await c.deletePod(i);
            await c.waitReady(i, 180000);
        }
        const want = [FAST_TIMING.ttl, FAST_TIMING.loopWait, FAST_TIMING.retryTimeout, FAST_TIMING.primaryStartTimeout];
        let seen: number[] = [];
        const deadline = Date.now() + 60000;
        while (Date.now() < deadline) {
            try {
                seen = timing(await config(writable()[0]));
                if (JSON.stringify(seen) === JSON.stringify(want)) break;
            } catch {
                /* a pod between roles */
            }
            await sleep(500);
        }
        assert.deepStrictEqual(seen, want, "GET /config after the rollout");
        // A member started from the new render applied them while it was the primary: not always the primary at the
        // end, as the rollout's deletions move the leader lock (the clean-clone CI at 0e81407 saw it end on another).
        const applied = ORDINALS.filter((i) => /Patroni's dynamic settings differed from the rendered ones: applied/.test(fs.readFileSync(c.logFile(i), "utf8")));
        assert.ok(applied.length > 0, "no member's log says it applied the rendered dynamic settings");
        // Every member serves the same configuration (it lives in the store), once its own loop has read the
        // store again: within the old loop_wait (10 s) it ran when the change landed.
        for (const i of ORDINALS) {
            let got: number[] = [];
            const until = Date.now() + 30000;
            while (Date.now() < until) {
                got = timing(await config(i));
                if (JSON.stringify(got) === JSON.stringify(want)) break;
                await sleep(500);
            }
            assert.deepStrictEqual(got, want, `GET /config on db-${i}`);
        }
        // Behaviour: Patroni now writes the leader key with ttl 20, renewed every 2 s.
        await sleep(3000);
        const most = await largestLeaderTtl(6000);
        assert.ok(most <= FAST_TIMING.ttl && most >= FAST_TIMING.ttl - FAST_TIMING.loopWait - 1, `the leader key's remaining ttl peaked at ${most} s`);
    });
});

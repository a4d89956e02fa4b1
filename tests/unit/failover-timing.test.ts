/** The `patroni` timings arg: Patroni's rules as one-line errors, the fence's bound derived from them, and
 * what reaches Patroni (bootstrap.dcs, the dynamic settings file patroni.sh applies, the fence's env). */
import * as assert from "assert";
import { resolveArgs } from "../../components/resolve";
import { FAST_TIMING, STORE_LOSS_MARGIN_SECONDS, resolvePatroniTiming, storeLossDemoteSeconds } from "../../components/engines/postgres/topologies/patroni/resolve";
import { FENCE_AFTER_ENV, FENCE_ROUND_SECONDS, PATRONI_TIMING, fenceAfterSeconds } from "../../components/engines/postgres/topologies/patroni/timing";
import { DEFAULTS } from "../../components/argTable";
import { container, env, find, renderComponent } from "./helpers";

const PATRONI = { failover: "patroni", image: "registry.example.com/postgres-patroni:17.6" };

describe("Patroni's timings (patroni arg)", () => {
    it("defaults to Patroni's own timings", () => {
        assert.deepStrictEqual(resolveArgs("db", PATRONI).patroni, { ttl: 30, loopWait: 10, retryTimeout: 10, primaryStartTimeout: 300 });
        // The engine's copy of them, in Patroni's names (the harness and the tests read it).
        assert.deepStrictEqual(PATRONI_TIMING, { ttl: DEFAULTS.patroni.ttl, loop_wait: DEFAULTS.patroni.loopWait, retry_timeout: DEFAULTS.patroni.retryTimeout });
        assert.deepStrictEqual(resolvePatroniTiming({ loopWait: 5 }, "patroni"), { ttl: 30, loopWait: 5, retryTimeout: 10, primaryStartTimeout: 300 });
    });

    it("accepts the documented fast choice", () => {
        assert.deepStrictEqual(resolveArgs("db", { ...PATRONI, patroni: { ...FAST_TIMING } }).patroni, FAST_TIMING);
    });

    it("refuses what Patroni would silently change, naming the setting, the value and the rule", () => {
        assert.throws(() => resolvePatroniTiming({ ttl: 10 }, "patroni"), /^ArgError: invalid patroni\.ttl: 10 \(allowed: a whole number from 20 to 3600\)$/);
        assert.throws(() => resolvePatroniTiming({ loopWait: 0 }, "patroni"), /invalid patroni\.loopWait: 0 \(allowed: a whole number from 1 to 300\)/);
        assert.throws(() => resolvePatroniTiming({ retryTimeout: 2 }, "patroni"), /invalid patroni\.retryTimeout: 2 \(allowed: a whole number from 3 to 1200\)/);
        assert.throws(() => resolvePatroniTiming({ primaryStartTimeout: -1 }, "patroni"), /invalid patroni\.primaryStartTimeout: -1/);
        assert.throws(() => resolvePatroniTiming({ ttl: 2.5 } as never, "patroni"), /invalid patroni\.ttl: 2\.5/);
        assert.throws(() => resolvePatroniTiming({ ttl: "20" } as never, "patroni"), /invalid patroni\.ttl: "20"/);
        // Patroni's rule loop_wait + 2 * retry_timeout <= ttl.
        assert.throws(
            () => resolvePatroniTiming({ ttl: 20, loopWait: 2, retryTimeout: 10 }, "patroni"),
            /^ArgError: invalid patroni\.ttl: 20 \(allowed: at least patroni\.loopWait \+ 2 × patroni\.retryTimeout \(22\), Patroni's rule/,
        );
        assert.doesNotThrow(() => resolvePatroniTiming({ ttl: 30, loopWait: 2, retryTimeout: 10 }, "patroni"));
        // One line, always.
        try {
            resolvePatroniTiming({ ttl: 20, loopWait: 10, retryTimeout: 10 }, "patroni");
            assert.fail("accepted");
        } catch (e) {
            assert.ok(!String((e as Error).message).includes("\n"));
        }
    });

    it("refuses timings that leave a primary cut off from the store no margin to stop before its lock can expire", () => {
        // Patroni accepts 20/2/9 (2 + 18 <= 20), but its worst case, 18 s after the last renewal, leaves 2 s of
        // a 20 s lock; CI saw the primary answer as one 25 s into an outage.
        assert.throws(
            () => resolvePatroniTiming({ ttl: 20, loopWait: 2, retryTimeout: 9 }, "patroni"),
            /^ArgError: invalid patroni\.ttl: 20 \(allowed: at least max\(2 × patroni\.retryTimeout, patroni\.loopWait \+ patroni\.retryTimeout\) \+ 10 \(28\): a primary cut off from the store stops within 18 s/,
        );
        // A long loop: the outage begins just before the next loop's read.
        assert.throws(() => resolvePatroniTiming({ ttl: 30, loopWait: 16, retryTimeout: 5 }, "patroni"), /\+ 10 \(31\)/);
        assert.doesNotThrow(() => resolvePatroniTiming({ ttl: 30, loopWait: 15, retryTimeout: 5 }, "patroni"));
        assert.strictEqual(storeLossDemoteSeconds(FAST_TIMING), 10);
        // Patroni's defaults leave exactly the margin; the fast choice keeps it.
        assert.strictEqual(storeLossDemoteSeconds(DEFAULTS.patroni) + STORE_LOSS_MARGIN_SECONDS, DEFAULTS.patroni.ttl);
        assert.strictEqual(storeLossDemoteSeconds(FAST_TIMING) + STORE_LOSS_MARGIN_SECONDS, FAST_TIMING.ttl);
    });

    it("refuses timings that leave the fence no time to kill a hung primary before its lock expires", () => {
        // 20 - 14 = 6 s between the last renewal and the expiry: 3 s of bound + a 3 s round do not fit.
        assert.throws(
            () => resolvePatroniTiming({ ttl: 20, loopWait: 14, retryTimeout: 3 }, "patroni"),
            /^ArgError: invalid patroni\.loopWait: 14 \(allowed: at most patroni\.ttl - 7 \(13\): the fence \(patroni-fence\.sh\)/,
        );
        assert.doesNotThrow(() => resolvePatroniTiming({ ttl: 26, loopWait: 13, retryTimeout: 3 }, "patroni"));
    });

    it("refuses unknown fields, a non-map, and timings without Patroni", () => {
        assert.throws(() => resolvePatroniTiming({ loop_wait: 2 } as never, "patroni"), /invalid patroni\.loop_wait: 2 \(allowed: one of the Patroni timings: ttl, loopWait, retryTimeout, primaryStartTimeout\)/);
        assert.throws(() => resolvePatroniTiming([] as never, "patroni"), /invalid patroni: \[\]/);
        assert.throws(() => resolveArgs("db", { patroni: { ttl: 20 } }), /invalid patroni: \{"ttl":20\} \(allowed: unset unless failover is "patroni"/);
        assert.doesNotThrow(() => resolveArgs("db", {}));
    });

    it("derives the fence's bound: half of ttl - loopWait, always landing before the lock can expire", () => {
        assert.strictEqual(fenceAfterSeconds({ ttl: 30, loopWait: 10 }), 10);
        assert.strictEqual(fenceAfterSeconds(FAST_TIMING), 9);
        assert.strictEqual(fenceAfterSeconds({ ttl: 21, loopWait: 2 }), 9);
        // Every timing resolveArgs accepts: the fence's kill (bound + one round) comes before ttl - loopWait.
        let accepted = 0;
        for (let ttl = 20; ttl <= 70; ttl++) {
            for (let loopWait = 1; loopWait <= 60; loopWait++) {
                for (let retryTimeout = 3; retryTimeout <= 30; retryTimeout++) {
                    let t;
                    try {
                        t = resolvePatroniTiming({ ttl, loopWait, retryTimeout }, "patroni");
                    } catch {
                        continue;
                    }
                    accepted++;
                    const after = fenceAfterSeconds(t);
                    assert.ok(after >= 3, `${ttl}/${loopWait}/${retryTimeout}: bound ${after}`);
                    assert.ok(after + FENCE_ROUND_SECONDS < ttl - loopWait, `${ttl}/${loopWait}/${retryTimeout}: the kill lands at ${after + FENCE_ROUND_SECONDS} s`);
                    // And a primary cut off from the store stops with the margin to spare.
                    assert.ok(storeLossDemoteSeconds(t) + STORE_LOSS_MARGIN_SECONDS <= ttl, `${ttl}/${loopWait}/${retryTimeout}: demotes ${storeLossDemoteSeconds(t)} s after its last renewal`);
                }
            }
        }
        assert.ok(accepted > 1000);
    });

    it("renders the timings into bootstrap.dcs and the dynamic settings file, and the fence's bound into the container", async () => {
        const r = await renderComponent("db", { ...PATRONI, synchronousReplicas: 1, patroni: { ...FAST_TIMING } });
        const data = find(r, "ConfigMap", "db-settings").data;
        const dcs = JSON.parse(data["patroni.yml"]).bootstrap.dcs;
        assert.deepStrictEqual(
            [dcs.ttl, dcs.loop_wait, dcs.retry_timeout, dcs.primary_start_timeout],
            [FAST_TIMING.ttl, FAST_TIMING.loopWait, FAST_TIMING.retryTimeout, FAST_TIMING.primaryStartTimeout],
        );
        // What patroni.sh applies on a running cluster is exactly what the first bootstrap stores.
        assert.deepStrictEqual(JSON.parse(data["patroni-dynamic.json"]), dcs);
        assert.strictEqual(dcs.synchronous_mode, true);
        const pg = container(find(r, "StatefulSet"), "postgres");
        assert.strictEqual(env(pg, FENCE_AFTER_ENV).value, "9");
        // The same bound beside the settings: only a pod whose fence runs it applies them.
        assert.strictEqual(data["fence-after-seconds"], "9\n");
        const d = await renderComponent("db", PATRONI);
        assert.strictEqual(env(container(find(d, "StatefulSet"), "postgres"), FENCE_AFTER_ENV).value, "10");
        assert.strictEqual(JSON.parse(find(d, "ConfigMap", "db-settings").data["patroni-dynamic.json"]).ttl, 30);
    });

    it("rolls the pods when the timings change (the fence's env and the dynamic settings file)", async () => {
        const checksum = async (args: object) => find(await renderComponent("db", { ...PATRONI, ...args }), "StatefulSet").spec.template.metadata.annotations["replicated-db.io/config-checksum"];
        assert.notStrictEqual(await checksum({}), await checksum({ patroni: { ...FAST_TIMING } }));
    });

    it("ships the script that applies the dynamic settings on the primary, sourced by patroni.sh", async () => {
        const scripts = find(await renderComponent("db", PATRONI), "ConfigMap", "db-scripts").data;
        assert.ok(scripts["patroni.sh"].includes('. "$RDB_SCRIPTS_DIR/patroni-dynamic.sh"'));
        assert.match(scripts["patroni-dynamic.sh"], /patronictl -c "\$CONF_DIR" edit-config "\$RDB_CLUSTER" --apply "\$DYNAMIC_FILE" --force --quiet/);
        assert.match(scripts["patroni-fence.sh"], new RegExp(`AFTER=\\$\\{${FENCE_AFTER_ENV}:-10\\}`));
    });
});

/**
 * What both load tests do around their own switchover and failover actions: set the cluster up with the
 * load running, run each step until every pod streams from the one primary again (bounded), and check the
 * logs at the end.
 */
import * as fs from "fs";
import * as path from "path";
import { Cluster } from "../cluster";
import { podAddress } from "../pod";
import { Findings, analyse } from "./analysis";
import { GATED_READERS, Load } from "./index";
import { CREATE_TABLE, TABLE } from "./protocol";
import { signatures, superSql, untilConverged, writable } from "./topology";

/** Log lines that mean a pod's history split from the primary's: never acceptable. */
const FORKED = /forked off|not a child of|requested timeline|pg_rewind failed|event=rewind_failed/;

export class Scenario {
    load!: Load;
    primary = -1;
    /** The first step that did not converge: the cluster is unusable for the next ones. */
    broken = "";
    readonly steps: string[] = [];

    constructor(readonly c: Cluster, readonly ordinals: number[], private readonly patroni: boolean) {}

    /** Brings the cluster up, waits for one primary with every replica streaming, starts the load. */
    async setUp(): Promise<void> {
        await this.c.up();
        const deadline = Date.now() + 120000;
        while ((await writable(this.c, this.ordinals)).length !== 1) {
            if (Date.now() > deadline) throw new Error("no single writable pod within 120 s");
            await new Promise((r) => setTimeout(r, 500));
        }
        this.primary = (await writable(this.c, this.ordinals))[0];
        await untilConverged(this.c, this.primary, this.ordinals, "start");
        await superSql(this.c, this.primary, `${CREATE_TABLE}; ALTER TABLE ${TABLE} OWNER TO app`, "app");
        // The app user sees pg_stat_wal_receiver's status only with pg_read_all_stats (test setup only).
        await superSql(this.c, this.primary, "GRANT pg_read_all_stats TO app");
        this.load = new Load(this.c, { ordinals: this.ordinals, primary: this.primary, patroni: this.patroni, dir: path.join(this.c.base, "load") });
        await this.load.start();
    }

    /** Runs `body` (which sets this.primary to the pod that should end up primary), then waits until every
     * pod streams from it on its timeline and every writer gets through again. */
    async step(label: string, body: () => Promise<void>): Promise<void> {
        if (this.broken) throw new Error(`not run: an earlier step failed (${this.broken})`);
        const from = this.load.acked();
        this.load.mark(label);
        try {
            await body();
            const ms = await untilConverged(this.c, this.primary, this.ordinals, label);
            await this.load.untilAcked(3, 60000, from);
            this.steps.push(`${label}: converged ${(ms / 1000).toFixed(1)} s after the last action`);
        } catch (e) {
            this.broken = label;
            throw e;
        }
    }

    /** Stops the load and checks the logs; the failures include forked pods and an unanswering primary. */
    async check(): Promise<Findings> {
        await this.load.stop();
        let unreachable = "";
        const ids = await superSql(this.c, this.primary, `SELECT string_agg(id, ' ') FROM ${TABLE}`, "app").catch((e) => {
            unreachable = `the final primary db-${this.primary} did not answer: ${e.message}`;
            return undefined;
        });
        const findings = analyse({
            specs: this.load.specs,
            samplesFile: this.load.samplesFile,
            events: this.load.events,
            finalIds: ids === undefined ? undefined : new Set(ids.split(" ")),
            podOf: (addr) => this.ordinals.find((i) => podAddress(i) === addr) ?? -1,
            pods: this.ordinals,
            gated: GATED_READERS,
            end: Date.now(),
        });
        const forked = signatures(this.c, this.ordinals).filter((l) => FORKED.test(l));
        findings.failures.push(...forked, ...(unreachable ? [unreachable] : []));
        findings.summary = [...this.steps, findings.summary].join("\n");
        return findings;
    }

    /** With RDB_KEEP_DIR set (tests/stress/repeat.sh), the load's logs are copied there first (cleanup() copies
     * the pods'): the cluster's directory goes with cleanup(). */
    async tearDown(): Promise<void> {
        if (this.load) await this.load.stop();
        const keep = process.env.RDB_KEEP_DIR;
        if (keep) {
            fs.mkdirSync(keep, { recursive: true });
            const load = path.join(this.c.base, "load");
            if (fs.existsSync(load)) fs.cpSync(load, path.join(keep, "load"), { recursive: true });
        }
        await this.c.cleanup();
    }
}

/**
 * Replay lag as the primary sees it (max(pg_stat_replication.replay_lag) over its replicas), sampled over one held
 * connection with async calls only: a new connection per sample would cost the primary a backend each time, and a
 * blocking call would hold up the bench's event loop. The same sampler runs in every mode of a throughput run, so
 * that its small cost is in the baseline too.
 */
import { Cluster, sleep } from "../tests/harness/cluster";
import { superuserClient } from "./streaming";

export class LagSampler {
    readonly samples: number[] = [];
    private stopped = false;
    private loop: Promise<void> | undefined;

    constructor(
        private readonly c: Cluster,
        private readonly periodMs = 200,
    ) {}

    start(): this {
        this.loop = this.run();
        return this;
    }

    /** Stops sampling; the samples taken while any replica streamed (none when no replica ran). */
    async stop(): Promise<number[]> {
        this.stopped = true;
        await this.loop;
        return this.samples;
    }

    private async run(): Promise<void> {
        const client = superuserClient(this.c, 5000);
        client.on("error", () => undefined);
        await client.connect();
        try {
            while (!this.stopped) {
                const r = await client.query("SELECT EXTRACT(epoch FROM max(replay_lag)) * 1000 AS ms, count(*) AS n FROM pg_stat_replication WHERE application_name <> 'pg_basebackup'");
                // No walsender (the baseline): no sample. A streaming replica that has replayed everything shows a
                // NULL replay_lag after a while with no new WAL: 0.
                if (Number(r.rows[0].n) > 0) this.samples.push(r.rows[0].ms === null ? 0 : Number(r.rows[0].ms));
                await sleep(this.periodMs);
            }
        } finally {
            await client.end().catch(() => undefined);
        }
    }
}

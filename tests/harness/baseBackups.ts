/**
 * Whether anyone takes a base backup of a pod while something else happens (a replica joining): a base backup shows
 * on the pod it reads as a walsender named pg_basebackup. Sampled every 100 ms as the superuser.
 */
import { Cluster } from "./cluster";

export class BaseBackupSampler {
    /** Each sample that saw one or more, as the count it saw. */
    readonly seen: string[] = [];
    private sampling = true;
    private readonly done: Promise<void>;

    /** `ordinal`: the pod to watch, asked at every sample (a leader may be known only later). */
    constructor(c: Cluster, ordinal: () => number) {
        this.done = (async () => {
            while (this.sampling) {
                const r = c.psql(ordinal(), "SELECT count(*) FROM pg_stat_replication WHERE application_name = 'pg_basebackup'", { user: "postgres", database: "postgres" });
                if (r.status === 0 && r.stdout.trim() !== "0") this.seen.push(r.stdout.trim());
                await new Promise((resolve) => setTimeout(resolve, 100));
            }
        })();
    }

    async stop(): Promise<string[]> {
        this.sampling = false;
        await this.done;
        return this.seen;
    }
}

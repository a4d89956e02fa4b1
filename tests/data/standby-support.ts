/** What the standby-cluster data tests (standby-cluster.test.ts, standby-archive.test.ts) share. */
import * as assert from "assert";
import * as fs from "fs";
import { ReplicatedDatabaseArgs } from "../../components/args";
import { BACKUP_IMAGE, POD_SCRIPTS, archiver, backupInfo } from "../harness/backup";
import { Cluster, sleep } from "../harness/cluster";
import { patroniRequest } from "../harness/patroniApi";
import { S3Server } from "../harness/s3";

export type StandbySettings = NonNullable<ReplicatedDatabaseArgs["standby"]>;

const SUPERUSER = { user: "postgres", database: "postgres" };
/** A port on src's address where nothing listens: streaming from it fails at once (connection refused). */
export const DEAD_PORT = 5999;

/** Over a pod's private socket as postgres (peer): answers whether or not the pod refuses clients. */
export async function localPsql(c: Cluster, ordinal: number, query: string, db = "app"): Promise<string> {
    const r = await c.exec(ordinal, ["psql", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-h", "/var/run/postgresql", "-U", "postgres", "-d", db, "-c", query], 30000);
    if (r.status !== 0) throw new Error(`psql in ${c.name}-${ordinal}: ${r.stderr.trim()}`);
    return r.stdout.trim();
}

/** A member's role by its Patroni REST API (`standby_leader`, `replica`, `primary`...); undefined: no answer. */
export async function patroniRole(c: Cluster, ordinal: number): Promise<string | undefined> {
    try {
        return (JSON.parse((await patroniRequest(c, ordinal, "/patroni", { timeoutMs: 2000 })).text) as { role?: string }).role;
    } catch {
        return undefined;
    }
}

/** The ordinal of a Patroni standby cluster's standby leader, once there is one. */
export async function standbyLeader(c: Cluster, ordinals: number[], timeoutMs = 120000): Promise<number> {
    for (const deadline = Date.now() + timeoutMs; Date.now() < deadline; await sleep(500)) {
        for (const i of ordinals) if ((await patroniRole(c, i)) === "standby_leader") return i;
    }
    throw new Error(`no standby leader among ${c.name}-${ordinals.join(",")} within ${timeoutMs} ms`);
}

/**
 * The archive tests' source: `src` archiving to the test S3 server (segments switched every 10 s at most) with one
 * full backup taken by `start()`, and the settings of a standby of it fed from its archive that can never stream
 * (DEAD_PORT) until a test changes `sourcePort`.
 */
export class ArchivingSource {
    readonly dir = fs.mkdtempSync("/var/tmp/rdb-s3-archive-");
    readonly s3 = new S3Server(this.dir);
    private readonly creds = this.s3.credentialsEnv();
    readonly repository = { s3Bucket: this.s3.bucket, s3Endpoint: this.s3.endpoint, s3UriStyle: "path", s3CredentialsSecret: "s3-creds" };
    readonly s3Secret = { "s3-creds": { "access-key-id": this.creds.PGBACKREST_REPO1_S3_KEY, "secret-access-key": this.creds.PGBACKREST_REPO1_S3_KEY_SECRET } };
    readonly env = { PGBACKREST_REPO1_STORAGE_CA_FILE: this.s3.caFile, PGBACKREST_IO_TIMEOUT: "3" };
    readonly src = new Cluster({
        name: "src",
        args: { replicas: 1, image: BACKUP_IMAGE, backup: { ...this.repository, enabled: true, archiveTimeoutSeconds: 10 } },
        secrets: this.s3Secret,
        env: this.env,
    });

    /** The S3 server, src with rows 1 (in the backup) and 2 (archived after it), and one full backup. */
    async start(): Promise<void> {
        const src = this.src;
        await this.s3.start();
        await src.up();
        src.sql(0, "CREATE TABLE items (id bigint PRIMARY KEY, note text NOT NULL)");
        src.sql(0, "INSERT INTO items VALUES (1, 'before the backup')");
        await src.until("src to archive", () => archiver(src, 0).archived > 0, 180000);
        const backup = await src.exec(0, ["/bin/bash", `${POD_SCRIPTS}/backup.sh`, "full"]);
        assert.strictEqual(backup.status, 0, backup.stderr);
        assert.deepStrictEqual((await backupInfo(src, 0)).backup.map((b: { type: string }) => b.type), ["full"]);
        src.sql(0, "INSERT INTO items VALUES (2, 'after the backup')");
        src.sql(0, "SELECT pg_switch_wal()", SUPERUSER);
    }

    /** A standby of src fed from its archive, on addresses of its own, with `args` (its mode, its image). */
    standbyCluster(args: ReplicatedDatabaseArgs): { dr: Cluster; standby: StandbySettings } {
        const standby: StandbySettings = {
            enabled: true,
            sourceHosts: [this.src.host(0)],
            sourcePort: DEAD_PORT,
            replicationSecretName: "src-replication",
            sourceCaCertificate: fs.readFileSync(this.src.caFile!, "utf8"),
            archiveFromClusterName: "src",
        };
        const dr = new Cluster({
            name: "dr",
            addressOffset: 20,
            extraHosts: this.src.podHostLines(),
            secrets: { ...this.s3Secret, "src-replication": { "replication-password": this.src.secret("replication-password") } },
            env: this.env,
            args: { replicas: 1, backup: { ...this.repository, enabled: true, archiveTimeoutSeconds: 10 }, ...args, standby },
        });
        return { dr, standby };
    }

    /** The objects of src's stanza in the bucket: a standby only ever reads them. */
    srcKeys(): Set<string> {
        return new Set(this.s3.objectKeys("pgbackrest/archive/default-src/").concat(this.s3.objectKeys("pgbackrest/backup/default-src/")));
    }

    async stop(): Promise<void> {
        await this.src.cleanup();
        await this.s3.stop();
        fs.rmSync(this.dir, { recursive: true, force: true });
    }
}

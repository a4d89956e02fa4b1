/**
 * When a replica starts streaming, as the primary sees it: pg_stat_replication shows its walsender (its
 * application_name is its slot name, db_1 for db-1) in state `streaming`. Polled over one held connection with
 * async calls only (node-postgres), so that nothing else the bench does in this process delays a sample and a
 * sample delays nothing (the harness's probes run in the same event loop).
 */
import * as fs from "fs";
import { Client } from "pg";
import { Cluster, sleep } from "../tests/harness/cluster";

/** A node-postgres client of pod 0 as the superuser, by name, verify-full against the cluster's CA when TLS is on. */
export function superuserClient(c: Cluster, timeoutMs: number): Client {
    return new Client({
        host: c.host(0),
        port: 5432,
        user: "postgres",
        database: "postgres",
        password: c.secret("superuser-password"),
        connectionTimeoutMillis: timeoutMs,
        query_timeout: timeoutMs,
        // As sslmode=verify-full: the cluster's CA and the pod's name.
        ...(c.caFile ? { ssl: { ca: fs.readFileSync(c.caFile, "utf8"), rejectUnauthorized: true } } : {}),
    });
}

/** Polls every `periodMs` until the replica of slot `slot` streams; resolves with the time of that sample's answer
 * (Date.now(), ms) and the time it was asked, so that the caller knows the resolution. */
export async function untilStreaming(c: Cluster, slot: string, timeoutMs: number, periodMs = 50): Promise<{ askedAt: number; seenAt: number }> {
    const deadline = Date.now() + timeoutMs;
    let client: Client | undefined;
    let last = "";
    try {
        while (Date.now() < deadline) {
            const askedAt = Date.now();
            try {
                if (!client) {
                    const fresh = superuserClient(c, 2000);
                    fresh.on("error", () => undefined);
                    client = fresh;
                    await fresh.connect();
                }
                const r = await client.query("SELECT state FROM pg_stat_replication WHERE application_name = $1", [slot]);
                last = r.rows.map((x) => x.state).join(",") || "no walsender";
                if (r.rows.some((x) => x.state === "streaming")) return { askedAt, seenAt: Date.now() };
            } catch (err) {
                last = String(err);
                await client?.end().catch(() => undefined);
                client = undefined;
            }
            await sleep(periodMs);
        }
        throw new Error(`${slot} not streaming after ${timeoutMs} ms (last seen: ${last})`);
    } finally {
        await client?.end().catch(() => undefined);
    }
}

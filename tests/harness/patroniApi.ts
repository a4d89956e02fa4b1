/**
 * Requests to a pod's Patroni REST API as a client in the cluster makes them: by the pod's name, over HTTPS
 * verified against the cluster's CA when the render serves it (tls on), plain HTTP otherwise.
 */
import * as fs from "fs";
import * as http from "http";
import * as https from "https";

/** What a request needs of the cluster (Cluster satisfies it). */
export interface PatroniTarget {
    host(ordinal: number): string;
    caFile?: string;
}

export const PATRONI_PORT = 8008;

export interface PatroniResponse {
    status: number;
    text: string;
}

/** One request; rejects on a connection error, a certificate that does not verify, or after `timeoutMs`. */
export function patroniRequest(
    c: PatroniTarget,
    ordinal: number,
    pathname: string,
    opts: { method?: string; headers?: Record<string, string>; body?: string; timeoutMs?: number } = {},
): Promise<PatroniResponse> {
    const secure = c.caFile !== undefined;
    const options: https.RequestOptions = {
        host: c.host(ordinal),
        port: PATRONI_PORT,
        path: pathname,
        method: opts.method ?? "GET",
        headers: opts.headers,
        timeout: opts.timeoutMs ?? 2000,
        ...(secure ? { ca: fs.readFileSync(c.caFile!) } : {}),
    };
    return new Promise((resolve, reject) => {
        const req = (secure ? https : http).request(options, (res) => {
            let text = "";
            res.setEncoding("utf8");
            res.on("data", (d) => (text += d));
            res.on("end", () => resolve({ status: res.statusCode ?? 0, text }));
            res.on("error", reject);
        });
        req.on("timeout", () => req.destroy(new Error(`${options.method} ${pathname} on ${options.host}: no answer within ${options.timeout} ms`)));
        req.on("error", reject);
        req.end(opts.body);
    });
}

/**
 * Until Patroni has named a synchronous standby (one of its loops after a start or a failover), strict mode
 * promotes nobody: a failure is provoked only once it has one, as the other Patroni tests do.
 */
export async function untilSyncStandby(c: PatroniTarget, leader: number, timeoutMs = 60000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let roles = "";
    while (Date.now() < deadline) {
        try {
            const r = await patroniRequest(c, leader, "/cluster", { timeoutMs: 2000 });
            const members = (JSON.parse(r.text) as { members?: { role: string }[] }).members ?? [];
            roles = members.map((m) => m.role).join(",");
            if (members.some((m) => m.role === "sync_standby")) return;
        } catch {
            /* not answering yet */
        }
        await new Promise((r) => setTimeout(r, 250));
    }
    throw new Error(`Patroni named no synchronous standby within ${timeoutMs / 1000} s (roles: ${roles})`);
}

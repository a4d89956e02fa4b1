/**
 * One pod's network path to Patroni's store, which a test can cut as a network partition would: a TCP proxy
 * in the test's own process, listening on the pod's own address at the store's port and forwarding
 * to the store. With the Kubernetes store (Cluster's `storeProxies` option) the pod's KUBERNETES_SERVICE_HOST
 * is the proxy, and TLS passes through it untouched (the API server's certificate names the pods' addresses
 * for this: controlplane.ts). With etcd, PATRONI_ETCD_HOSTS is the proxy and PATRONI_ETCD_USE_PROXIES keeps
 * Patroni from learning etcd's own client URL from /v2/machines.
 *
 * cut() is a blackhole, not a refusal: a partition drops packets, so Patroni must see its requests time
 * out, as it would when the API server is unreachable. While cut:
 * - open connections stay open, and whatever either side sends is read and dropped;
 * - new connections are accepted and never answered (nothing is dialled upstream for them);
 * - a side that closes its end is not told to the other side (no FIN crosses a partition).
 * restore() forwards again. The connections that lost bytes or an end during the cut are reset then
 * (their HTTP exchange is broken: a late reply would answer the wrong request), as a peer that sends
 * on a connection the other end has forgotten gets a reset; the client opens a new one, as it does anyway
 * after its own timeout. Connections that lost nothing simply carry on.
 */
import * as net from "net";


interface Pair {
    client: net.Socket;
    /** Undefined for a connection accepted during a cut: it is never dialled upstream. */
    upstream?: net.Socket;
    /** Bytes or an end were dropped during a cut: the exchange on it is broken. */
    broken: boolean;
}

export class StoreProxy {
    private server?: net.Server;
    private readonly pairs = new Set<Pair>();
    private cutSince?: number;

    constructor(
        /** The proxy's listen address (the pod's address). */
        readonly address: string,
        /** The store's endpoint (the API server's, or etcd's client endpoint); the proxy listens on its port. */
        private readonly target: { host: string; port: number },
    ) {}

    /** host:port as Patroni is given it. */
    get endpoint(): string {
        return `${this.address}:${this.target.port}`;
    }

    get isCut(): boolean {
        return this.cutSince !== undefined;
    }

    async start(): Promise<void> {
        const server = net.createServer((client) => this.accept(client));
        await new Promise<void>((resolve, reject) => {
            server.once("error", reject);
            server.listen(this.target.port, this.address, () => {
                server.removeListener("error", reject);
                resolve();
            });
        });
        this.server = server;
    }

    private accept(client: net.Socket): void {
        const pair: Pair = { client, broken: false };
        this.pairs.add(pair);
        client.on("error", () => undefined);
        client.on("close", () => this.closed(pair, "client"));
        if (this.isCut) {
            // Accepted, never answered: the request is read and dropped.
            pair.broken = true;
            client.on("data", () => undefined);
            return;
        }
        const upstream = net.connect(this.target.port, this.target.host);
        pair.upstream = upstream;
        upstream.on("error", () => undefined);
        upstream.on("close", () => this.closed(pair, "upstream"));
        this.forward(pair, client, upstream);
        this.forward(pair, upstream, client);
    }

    /** Copies `from` to `to` unless the path is cut; while cut, drops the bytes and marks the pair broken. */
    private forward(pair: Pair, from: net.Socket, to: net.Socket): void {
        from.on("data", (chunk) => {
            if (this.isCut) {
                pair.broken = true;
                return;
            }
            // Backpressure is not needed here: Patroni's requests and the store's answers are small.
            if (!to.destroyed) to.write(chunk);
        });
    }

    /** One side closed: passed on to the other at once, unless the path is cut (then at restore()). */
    private closed(pair: Pair, side: "client" | "upstream"): void {
        if (this.isCut) {
            pair.broken = true;
            return;
        }
        this.pairs.delete(pair);
        (side === "client" ? pair.upstream : pair.client)?.destroy();
    }

    /** Stops forwarding in both directions, for every connection, open or new, until restore(). */
    cut(): void {
        if (this.isCut) throw new Error(`the store proxy at ${this.endpoint} is already cut`);
        this.cutSince = Date.now();
    }

    /** Forwards again; resets the connections the cut broke. Returns how long the path was cut (ms). */
    restore(): number {
        if (this.cutSince === undefined) throw new Error(`the store proxy at ${this.endpoint} is not cut`);
        const ms = Date.now() - this.cutSince;
        this.cutSince = undefined;
        for (const pair of [...this.pairs]) {
            const gone = pair.client.destroyed || !pair.upstream || pair.upstream.destroyed;
            if (!pair.broken && !gone) continue;
            this.pairs.delete(pair);
            for (const socket of [pair.client, pair.upstream]) {
                if (socket && !socket.destroyed) socket.resetAndDestroy();
            }
        }
        return ms;
    }

    /** Closes the listener and every connection. */
    async stop(): Promise<void> {
        this.cutSince = undefined;
        for (const pair of this.pairs) {
            pair.client.destroy();
            pair.upstream?.destroy();
        }
        this.pairs.clear();
        const server = this.server;
        this.server = undefined;
        if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
    }
}

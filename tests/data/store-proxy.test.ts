/**
 * The harness's cuttable path to Patroni's store (tests/harness/store-proxy.ts) behaves as a network partition, not as a
 * refusal: against an echo server standing in for the store, on loopback addresses of the run's own namespace.
 */
import * as assert from "assert";
import * as net from "net";
import { StoreProxy } from "../harness/store-proxy";
import { assertIsolated } from "../harness/namespace";

const UPSTREAM = { host: "127.0.0.9", port: 23790 };
const QUIET_MS = 1000;

/** A client socket that records what it receives and whether it was closed or reset. */
class Client {
    readonly socket: net.Socket;
    received = "";
    ended = false;
    connected: Promise<void>;
    constructor(endpoint: { host: string; port: number }) {
        this.socket = net.connect(endpoint.port, endpoint.host);
        this.connected = new Promise((resolve, reject) => {
            this.socket.once("connect", resolve);
            this.socket.once("error", reject);
        });
        this.socket.on("data", (d) => (this.received += d));
        this.socket.on("error", () => undefined);
        this.socket.on("close", () => (this.ended = true));
    }
    async answer(text: string, timeoutMs = 2000): Promise<string> {
        const before = this.received.length;
        this.socket.write(text);
        const deadline = Date.now() + timeoutMs;
        while (this.received.length < before + text.length && Date.now() < deadline) await sleep(20);
        return this.received.slice(before);
    }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("the harness: a pod's cuttable path to the store", function () {
    this.timeout(30000);
    let echo: net.Server;
    let upstreamConnections = 0;
    const proxy = new StoreProxy("127.0.0.10", UPSTREAM);
    const at = { host: "127.0.0.10", port: UPSTREAM.port };

    before(async () => {
        assertIsolated();
        echo = net.createServer((s) => {
            upstreamConnections++;
            s.on("error", () => undefined);
            s.pipe(s);
        });
        await new Promise<void>((resolve) => echo.listen(UPSTREAM.port, UPSTREAM.host, resolve));
        await proxy.start();
    });
    after(async () => {
        await proxy.stop();
        await new Promise((resolve) => echo.close(resolve));
    });

    it("forwards both ways; cut, it answers nothing and closes nothing, old or new connections; restored, it resets the broken ones and forwards again", async () => {
        const kept = new Client(at);
        const idle = new Client(at);
        await Promise.all([kept.connected, idle.connected]);
        assert.strictEqual(await kept.answer("ping"), "ping", "forwards before the cut");

        proxy.cut();
        const upstreamBefore = upstreamConnections;
        const fresh = new Client(at);
        await fresh.connected; // accepted: a client waits on its read, not on a refusal
        assert.strictEqual(await kept.answer("lost", QUIET_MS), "", "an open connection gets no answer while cut");
        assert.strictEqual(await fresh.answer("lost", QUIET_MS), "", "a new connection gets no answer while cut");
        assert.strictEqual(upstreamConnections, upstreamBefore, "nothing is dialled upstream while cut");
        assert.ok(!kept.ended && !fresh.ended, "no connection is closed while cut");

        proxy.restore();
        await sleep(200);
        assert.ok(kept.ended && fresh.ended, "the connections that lost bytes are reset at the restore");
        assert.ok(!idle.ended, "a connection that lost nothing stays open");
        assert.strictEqual(await idle.answer("still"), "still", "and carries on");
        idle.socket.destroy();
        const after = new Client(at);
        await after.connected;
        assert.strictEqual(await after.answer("pong"), "pong", "forwards again after the restore");
        after.socket.destroy();
    });
});

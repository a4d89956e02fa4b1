/**
 * The test S3 server's process (started by tests/harness/s3.ts, never by hand): s3rver 3.7.1 serving one
 * bucket from a directory, behind an HTTPS front on the given loopback address and port that checks each
 * request's SigV4 signature (tests/harness/sigv4.ts) before passing it on. s3rver listens on a Unix socket
 * in the data directory only, so nothing reaches it unchecked.
 *
 * Its own process because the tests run pgBackRest and psql synchronously (execFileSync): a server in the
 * test process could not answer while the test waits.
 *
 * Configuration: env RDB_S3_CONFIG (JSON, see ServerConfig) and RDB_S3_SECRET_ACCESS_KEY (the secret stays
 * out of argv and out of the logs). Writes one JSON line per request to requestLog (method, path, the
 * query's parameter names, status; no header values), and `ready` to stdout once both servers listen.
 */
import * as fs from "fs";
import * as http from "http";
import * as https from "https";
import * as path from "path";
import { verifySigV4 } from "./sigv4";
// eslint-disable-next-line @typescript-eslint/no-var-requires
const S3rver = require("s3rver");
// eslint-disable-next-line @typescript-eslint/no-var-requires
const AWSAccount = require("s3rver/lib/models/account");

/*
 * s3rver 3.7.1's ListObjects with a delimiter leaves out a common prefix whose objects all lie two or more
 * levels below it (its directory walk skips directories beneath a prefix before finding an object in
 * them). pgBackRest's expire lists the backup directory with "/" and, after deleting an expired backup's
 * manifest, finds only pg_data/... under it: the backup would never be deleted. Here a delimiter listing
 * is made from the full listing instead. Such listings are never truncated (S3 stops at 1000 keys and
 * prefixes and hands out a continuation token): pgBackRest's paging is exercised only by listings without
 * a delimiter, over 1000 objects.
 */
// eslint-disable-next-line @typescript-eslint/no-var-requires
const FilesystemStore = require("s3rver/lib/stores/filesystem");
const listAll = FilesystemStore.prototype.listObjects;
FilesystemStore.prototype.listObjects = async function (bucket: string, options: { delimiter?: string; prefix?: string }) {
    const { delimiter, prefix = "" } = options;
    if (!delimiter) return listAll.call(this, bucket, options);
    const all = await listAll.call(this, bucket, { ...options, delimiter: "", maxKeys: Infinity });
    const objects: { key: string }[] = [];
    const commonPrefixes = new Set<string>();
    for (const o of all.objects as { key: string }[]) {
        const idx = o.key.slice(prefix.length).indexOf(delimiter);
        if (idx === -1) objects.push(o);
        else commonPrefixes.add(o.key.slice(0, prefix.length + idx + delimiter.length));
    }
    objects.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    return { objects, commonPrefixes: [...commonPrefixes].sort(), isTruncated: false };
};

export interface ServerConfig {
    address: string;
    port: number;
    dataDir: string;
    certFile: string;
    keyFile: string;
    bucket: string;
    region: string;
    accessKeyId: string;
    requestLog: string;
}

function xmlError(code: string, message: string): string {
    const esc = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
    return `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${esc(code)}</Code><Message>${esc(message)}</Message></Error>`;
}

async function main(): Promise<void> {
    const config: ServerConfig = JSON.parse(process.env.RDB_S3_CONFIG ?? "");
    const secret = process.env.RDB_S3_SECRET_ACCESS_KEY;
    if (!secret) throw new Error("RDB_S3_SECRET_ACCESS_KEY is empty; the test S3 server needs the secret access key it checks signatures with");
    delete process.env.RDB_S3_SECRET_ACCESS_KEY;
    const keys = new Map([[config.accessKeyId, secret]]);
    // s3rver's own check: it knows only the built-in S3RVER key unless told otherwise.
    AWSAccount.DUMMY_ACCOUNT.revokeAccessKey("S3RVER");
    AWSAccount.DUMMY_ACCOUNT.createKeyPair(config.accessKeyId, secret);

    const socket = path.join(config.dataDir, "s3rver.sock");
    fs.rmSync(socket, { force: true }); // left by a killed predecessor on the same data directory
    const s3rver = new S3rver({
        directory: path.join(config.dataDir, "objects"),
        // Path-style only: with virtual hosts on, s3rver would read a host name endpoint as a bucket name.
        vhostBuckets: false,
        silent: true,
        configureBuckets: [{ name: config.bucket }],
    });
    await s3rver.configureBuckets();
    const backend = http.createServer(s3rver.callback());
    await new Promise<void>((resolve, reject) => backend.once("error", reject).listen(socket, resolve));

    // Written synchronously before the answer leaves: a test reading it right after pgBackRest exits sees every request.
    const log = fs.openSync(config.requestLog, "a");
    const front = https.createServer({ key: fs.readFileSync(config.keyFile), cert: fs.readFileSync(config.certFile) }, (req, res) => {
        const chunks: Buffer[] = [];
        req.on("data", (c: Buffer) => chunks.push(c));
        req.on("end", () => {
            const body = Buffer.concat(chunks);
            const url = req.url ?? "/";
            const q = url.indexOf("?");
            const entry = {
                time: new Date().toISOString(),
                method: req.method,
                path: q < 0 ? url : url.slice(0, q),
                query: q < 0 ? [] : url.slice(q + 1).split("&").map((p) => p.split("=")[0]),
                bytes: body.length,
                status: 0,
                code: undefined as string | undefined,
            };
            const done = () => fs.writeSync(log, `${JSON.stringify(entry)}\n`);
            let refusal;
            try {
                refusal = verifySigV4({ method: req.method ?? "GET", url, headers: req.headers, body }, keys, config.region);
            } catch (err) {
                refusal = { status: 400, code: "InvalidRequest", message: `unreadable request: ${(err as Error).message}` };
            }
            if (refusal) {
                const xml = xmlError(refusal.code, refusal.message);
                entry.status = refusal.status;
                entry.code = refusal.code;
                done();
                res.writeHead(refusal.status, { "content-type": "application/xml", "content-length": Buffer.byteLength(xml) });
                res.end(req.method === "HEAD" ? undefined : xml);
                return;
            }
            const headers = { ...req.headers, "content-length": String(body.length) };
            delete headers["transfer-encoding"];
            const up = http.request({ socketPath: socket, method: req.method, path: url, headers }, (upRes) => {
                entry.status = upRes.statusCode ?? 502;
                done();
                res.writeHead(upRes.statusCode ?? 502, upRes.headers);
                upRes.pipe(res);
            });
            up.on("error", (err) => {
                entry.status = 500;
                done();
                res.writeHead(500, { "content-type": "application/xml" });
                res.end(xmlError("InternalError", err.message));
            });
            up.end(body);
        });
    });
    await new Promise<void>((resolve, reject) => front.once("error", reject).listen(config.port, config.address, resolve));
    process.stdout.write("ready\n");
    const stop = () => {
        front.close();
        backend.close();
        process.exit(0);
    };
    process.once("SIGTERM", stop);
    process.once("SIGINT", stop);
}

main().catch((err) => {
    console.error(err);
    process.exit(1);
});

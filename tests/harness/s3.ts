/**
 * An S3-compatible object store on loopback for the backup tests: s3rver 3.7.1 (npm, MIT) in a child
 * process (tests/harness/s3-server.ts) behind HTTPS with a throwaway CA made here, path-style addressing,
 * one bucket, SigV4 signatures checked against a random key pair. pgBackRest is given the CA file
 * (repo1-storage-ca-file) and so verifies the server's certificate as it would a real endpoint's.
 *
 * Unreachable and back: stop() kills the process (SIGKILL: connections reset, then connection refused on the
 * address), start() brings it back on the same address, port, certificate, keys and data directory, with
 * every object stored before. That is the failure a repository outage looks like to pgBackRest when the
 * endpoint's host is up but nothing listens; a silent network drop (timeouts) is not played.
 *
 * What this leaves untested against real S3 (see the test's report): s3rver does not check part sizes or
 * part ETags in CompleteMultipartUpload, cannot abort or list multipart uploads, gives a multipart object a
 * plain MD5 ETag, writes objects non-atomically, and has no versioning, lifecycle, object lock, storage
 * classes or server-side encryption; the region is only checked as the signature's scope. Listings with a
 * delimiter are rebuilt in s3-server.ts (s3rver drops deep common prefixes) and never truncated, so
 * pgBackRest's continuation-token paging is exercised only by listings without one.
 *
 * Readiness is probed with an unsigned HEAD /, which the server refuses (AccessDenied) and logs.
 *
 * The harness runs it as root in the run's network namespace; the certificate's subject alternative names
 * carry the address both as an IP address and as a DNS name, because pgBackRest 2.45 matches the host it
 * connects to against DNS names (and the common name) only.
 */
import { ChildProcess, execFileSync, spawn } from "child_process";
import { randomBytes } from "crypto";
import * as fs from "fs";
import * as https from "https";
import * as path from "path";
import { assertIsolated } from "./namespace";
import type { ServerConfig } from "./s3-server";

export const S3_ADDRESS = "127.0.0.8";
export const S3_PORT = 9443;

export interface S3Options {
    address?: string;
    port?: number;
    bucket?: string;
    region?: string;
}

/** One request as the server logged it (no header values, no secrets). */
export interface S3Request {
    time: string;
    method: string;
    path: string;
    /** The query's parameter names, e.g. ["list-type", "prefix"] or ["uploads"]. */
    query: string[];
    bytes: number;
    status: number;
    /** The S3 error code when the signature check refused it. */
    code?: string;
}

function openssl(args: string[]): void {
    execFileSync("openssl", args, { stdio: ["ignore", "ignore", "pipe"] });
}

/** A self-signed CA in dir (ca.crt, ca.key), valid two days: each test run makes its own. */
export function makeCa(dir: string, name = "replicated-db test CA"): { certFile: string; keyFile: string } {
    fs.mkdirSync(dir, { recursive: true, mode: 0o755 });
    const certFile = path.join(dir, "ca.crt");
    const keyFile = path.join(dir, "ca.key");
    openssl(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", keyFile, "-out", certFile, "-days", "2", "-subj", `/CN=${name}`]);
    fs.chmodSync(certFile, 0o644);
    return { certFile, keyFile };
}

/** A server certificate for `host` (an IP address) signed by the CA in caDir. */
function makeServerCert(caDir: string, dir: string, host: string): { certFile: string; keyFile: string } {
    const keyFile = path.join(dir, "server.key");
    const certFile = path.join(dir, "server.crt");
    const csr = path.join(dir, "server.csr");
    const ext = path.join(dir, "server.ext");
    openssl(["req", "-newkey", "rsa:2048", "-nodes", "-keyout", keyFile, "-out", csr, "-subj", `/CN=${host}`]);
    fs.writeFileSync(ext, `subjectAltName=IP:${host},DNS:${host}\nextendedKeyUsage=serverAuth\n`);
    openssl([
        "x509", "-req", "-in", csr, "-CA", path.join(caDir, "ca.crt"), "-CAkey", path.join(caDir, "ca.key"),
        "-CAcreateserial", "-out", certFile, "-days", "2", "-extfile", ext,
    ]);
    return { certFile, keyFile };
}

export class S3Server {
    readonly address: string;
    readonly port: number;
    readonly bucket: string;
    readonly region: string;
    readonly accessKeyId: string;
    readonly dir: string;
    /** The CA that signed the server's certificate: what pgBackRest's repo1-storage-ca-file names. */
    readonly caFile: string;
    private readonly secretAccessKey: string;
    private readonly serverCert: { certFile: string; keyFile: string };
    private proc?: ChildProcess;
    private exited?: Promise<void>;

    /** Makes the CA, the server certificate and the key pair under dir (created, readable by all but the keys). */
    constructor(dir: string, opts: S3Options = {}) {
        this.dir = dir;
        this.address = opts.address ?? S3_ADDRESS;
        this.port = opts.port ?? S3_PORT;
        this.bucket = opts.bucket ?? "backups";
        this.region = opts.region ?? "us-east-1";
        // AWS-shaped: 20 upper-case characters for the id, 40 for the secret.
        this.accessKeyId = `AKIA${randomBytes(8).toString("hex").toUpperCase()}`;
        this.secretAccessKey = randomBytes(30).toString("base64");
        fs.mkdirSync(path.join(dir, "data"), { recursive: true, mode: 0o700 });
        fs.chmodSync(dir, 0o755);
        const ca = makeCa(path.join(dir, "ca"));
        fs.chmodSync(ca.keyFile, 0o600);
        this.caFile = ca.certFile;
        this.serverCert = makeServerCert(path.join(dir, "ca"), path.join(dir, "data"), this.address);
    }

    /** host:port, as repo1-s3-endpoint takes it (pgBackRest takes the port separately: repo1-storage-port). */
    get endpoint(): string {
        return `${this.address}:${this.port}`;
    }

    get requestLog(): string {
        return path.join(this.dir, "requests.log");
    }

    get running(): boolean {
        return this.proc !== undefined && this.proc.exitCode === null && this.proc.signalCode === null;
    }

    /**
     * The repository options for pgbackrest.conf's [global] section, as the rendered configuration names
     * them (the backup contract), with this server's address, port, bucket and CA.
     */
    pgbackrestOptions(): Record<string, string> {
        return {
            "repo1-type": "s3",
            "repo1-s3-bucket": this.bucket,
            "repo1-s3-endpoint": this.address,
            "repo1-s3-region": this.region,
            "repo1-s3-uri-style": "path",
            "repo1-storage-port": String(this.port),
            "repo1-storage-verify-tls": "y",
            "repo1-storage-ca-file": this.caFile,
        };
    }

    /** The credentials as the database container's env carries them (from the user's Secret). */
    credentialsEnv(): Record<string, string> {
        return { PGBACKREST_REPO1_S3_KEY: this.accessKeyId, PGBACKREST_REPO1_S3_KEY_SECRET: this.secretAccessKey };
    }

    /** Starts the server (again, after stop(): same address, certificate, keys and objects); resolves once it answers TLS. */
    async start(): Promise<void> {
        assertIsolated();
        if (this.running) throw new Error(`the test S3 server on ${this.endpoint} is already running`);
        const config: ServerConfig = {
            address: this.address,
            port: this.port,
            dataDir: path.join(this.dir, "data"),
            certFile: this.serverCert.certFile,
            keyFile: this.serverCert.keyFile,
            bucket: this.bucket,
            region: this.region,
            accessKeyId: this.accessKeyId,
            requestLog: this.requestLog,
        };
        const logFile = path.join(this.dir, "server.log");
        const out = fs.openSync(logFile, "a");
        const proc = spawn(process.execPath, ["-r", require.resolve("ts-node/register/transpile-only"), path.join(__dirname, "s3-server.ts")], {
            stdio: ["ignore", out, out],
            env: { ...process.env, RDB_S3_CONFIG: JSON.stringify(config), RDB_S3_SECRET_ACCESS_KEY: this.secretAccessKey },
        });
        fs.closeSync(out);
        this.proc = proc;
        this.exited = new Promise((resolve) => proc.on("exit", () => resolve()));
        // Dies with the test run: a leftover server would answer a later run on the same address.
        const kill = () => proc.kill("SIGKILL");
        process.once("exit", kill);
        proc.once("exit", () => process.removeListener("exit", kill));
        const deadline = Date.now() + 30000;
        while (Date.now() < deadline) {
            if (!this.running) throw new Error(`the test S3 server exited (${proc.exitCode ?? proc.signalCode}); see ${logFile}`);
            if (await this.answers()) return;
            await new Promise((resolve) => setTimeout(resolve, 200));
        }
        await this.stop();
        throw new Error(`the test S3 server did not answer on ${this.endpoint} within 30 s; see ${logFile}`);
    }

    /** Kills the server: from now on its address refuses connections, until start(). */
    async stop(): Promise<void> {
        if (!this.running) return;
        this.proc!.kill("SIGKILL");
        await this.exited;
    }

    /** True when the server completes a TLS handshake verified with caFile (any HTTP answer will do). */
    answers(): Promise<boolean> {
        return new Promise((resolve) => {
            const req = https.request(
                { host: this.address, port: this.port, path: "/", method: "HEAD", ca: fs.readFileSync(this.caFile), timeout: 2000 },
                (res) => {
                    res.resume();
                    resolve(true);
                },
            );
            req.on("error", () => resolve(false));
            req.on("timeout", () => req.destroy());
            req.end();
        });
    }

    /** The requests served so far, oldest first. */
    requests(): S3Request[] {
        if (!fs.existsSync(this.requestLog)) return [];
        return fs
            .readFileSync(this.requestLog, "utf8")
            .split("\n")
            .filter((l) => l !== "")
            .map((l) => JSON.parse(l) as S3Request);
    }

    /** The keys of the objects stored under prefix in the bucket (from s3rver's directory; no request). */
    objectKeys(prefix = ""): string[] {
        const root = path.join(this.dir, "data", "objects", this.bucket);
        const keys: string[] = [];
        const walk = (dir: string) => {
            if (!fs.existsSync(dir)) return;
            for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
                const p = path.join(dir, e.name);
                if (e.isDirectory()) walk(p);
                // s3rver keeps each object as <key>._S3rver_object beside its metadata files.
                else if (e.name.endsWith("._S3rver_object")) keys.push(path.relative(root, p).slice(0, -"._S3rver_object".length));
            }
        };
        walk(root);
        return keys.filter((k) => k.startsWith(prefix)).sort();
    }
}

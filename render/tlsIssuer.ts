/**
 * Real keys and certificates for the @pulumi/tls resources the component registers, made as the provider would
 * (ECDSA P-256 keys in SEC1 PEM, X.509 v3 with the requested names and uses), with Node's crypto and the
 * `openssl` command. The mocks use it with RDB_RENDER_REAL_TLS=1, so that the data-plane harness can run servers
 * with `ssl = on` and clients with `sslmode=verify-full`; the unit tests and the offline render keep the
 * deterministic placeholders (render/capture.ts), as real keys are random.
 */
import { execFileSync } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

/** @pulumi/tls's `allowedUses` names to OpenSSL's keyUsage and extendedKeyUsage names. */
const KEY_USAGE: Record<string, string> = {
    cert_signing: "keyCertSign",
    crl_signing: "cRLSign",
    digital_signature: "digitalSignature",
    key_encipherment: "keyEncipherment",
};
const EXTENDED_KEY_USAGE: Record<string, string> = { server_auth: "serverAuth", client_auth: "clientAuth" };

interface Subject {
    commonName?: string;
    organization?: string;
}

function subjectArg(s: Subject | undefined): string {
    const part = (k: string, v?: string) => (v ? `/${k}=${v.replace(/[/\\]/g, "\\$&")}` : "");
    return part("O", s?.organization) + part("CN", s?.commonName) || "/";
}

/** The extensions a certificate of these uses gets, as an OpenSSL config section's lines. */
function extensions(isCa: boolean, uses: string[]): string[] {
    const ku = uses.map((u) => KEY_USAGE[u]).filter(Boolean);
    const eku = uses.map((u) => EXTENDED_KEY_USAGE[u]).filter(Boolean);
    return [
        isCa ? "basicConstraints = critical, CA:TRUE" : "basicConstraints = critical, CA:FALSE",
        ...(ku.length ? [`keyUsage = critical, ${ku.join(", ")}`] : []),
        ...(eku.length ? [`extendedKeyUsage = ${eku.join(", ")}`] : []),
        "subjectKeyIdentifier = hash",
    ];
}

function days(hours: unknown): string {
    return String(Math.max(1, Math.ceil(Number(hours ?? 24) / 24)));
}

/** Runs openssl in a scratch directory holding `files`; returns the file `out` it writes. */
function openssl(files: Record<string, string>, out: string, args: string[]): string {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "rdb-tls-"));
    try {
        for (const [name, text] of Object.entries(files)) {
            fs.writeFileSync(path.join(dir, name), text, { mode: 0o600 });
        }
        execFileSync("openssl", args, { cwd: dir, stdio: ["ignore", "ignore", "pipe"] });
        return fs.readFileSync(path.join(dir, out), "utf8");
    } finally {
        fs.rmSync(dir, { recursive: true, force: true });
    }
}

function serial(): string {
    return `0x${crypto.randomBytes(16).toString("hex").replace(/^[89a-f]/, "1")}`;
}

/** The outputs a @pulumi/tls resource of `type` computes from `inputs`; {} for any other type. */
export function issueTls(type: string, inputs: Record<string, any>): Record<string, string> {
    switch (type) {
        case "tls:index/privateKey:PrivateKey": {
            if (inputs.algorithm !== "ECDSA" || inputs.ecdsaCurve !== "P256") {
                throw new Error(`tlsIssuer makes ECDSA P256 keys only, not ${inputs.algorithm} ${inputs.ecdsaCurve}`);
            }
            const { privateKey, publicKey } = crypto.generateKeyPairSync("ec", { namedCurve: "P-256" });
            return {
                privateKeyPem: privateKey.export({ type: "sec1", format: "pem" }).toString(),
                publicKeyPem: publicKey.export({ type: "spki", format: "pem" }).toString(),
            };
        }
        case "tls:index/selfSignedCert:SelfSignedCert": {
            const cnf = ["[req]", "distinguished_name = dn", "[dn]", "[ext]", ...extensions(Boolean(inputs.isCaCertificate), inputs.allowedUses ?? [])];
            const certPem = openssl({ "key.pem": inputs.privateKeyPem, "req.cnf": cnf.join("\n") + "\n" }, "cert.pem", [
                "req", "-x509", "-new", "-config", "req.cnf", "-extensions", "ext", "-key", "key.pem", "-subj", subjectArg(inputs.subject),
                "-days", days(inputs.validityPeriodHours), "-sha256", "-set_serial", serial(), "-out", "cert.pem",
            ]);
            return { certPem };
        }
        case "tls:index/certRequest:CertRequest": {
            const san = (inputs.dnsNames ?? []).map((n: string) => `DNS:${n}`).join(",");
            const cnf = ["[req]", "distinguished_name = dn", "[dn]", "[ext]", ...(san ? [`subjectAltName = ${san}`] : [])];
            const certRequestPem = openssl({ "key.pem": inputs.privateKeyPem, "req.cnf": cnf.join("\n") + "\n" }, "req.pem", [
                "req", "-new", "-config", "req.cnf", "-reqexts", "ext", "-key", "key.pem", "-subj", subjectArg(inputs.subject), "-sha256", "-out", "req.pem",
            ]);
            return { certRequestPem };
        }
        case "tls:index/locallySignedCert:LocallySignedCert": {
            const ext = ["[ext]", ...extensions(Boolean(inputs.isCaCertificate), inputs.allowedUses ?? []), "authorityKeyIdentifier = keyid"];
            const certPem = openssl(
                { "req.pem": inputs.certRequestPem, "ca.pem": inputs.caCertPem, "ca-key.pem": inputs.caPrivateKeyPem, "ext.cnf": ext.join("\n") + "\n" },
                "cert.pem",
                [
                    "x509", "-req", "-in", "req.pem", "-CA", "ca.pem", "-CAkey", "ca-key.pem", "-set_serial", serial(),
                    "-days", days(inputs.validityPeriodHours), "-sha256", "-copy_extensions", "copy", "-extfile", "ext.cnf", "-extensions", "ext", "-out", "cert.pem",
                ],
            );
            return { certPem };
        }
        default:
            return {};
    }
}

/**
 * AWS Signature Version 4 checked the way S3 checks it, for the test S3 server (tests/harness/s3-server.ts):
 * s3rver 3.7.1 accepts any V4 signature whose access key id it knows, and any request with no signature at
 * all, so without this a wrong secret key, a wrong region or a corrupted upload would pass in the tests and
 * fail only against real S3. Checked here: the access key id, the signature over the canonical request
 * (method, path, query, the signed headers), the credential scope's region and service, the request time
 * (15 minutes of skew, as S3 allows), the payload hash (x-amz-content-sha256) against the body received,
 * and Content-MD5 when sent. Not supported (pgBackRest does not use them): presigned URLs (query-string
 * auth), chunked aws-chunked payloads, session tokens.
 *
 * https://docs.aws.amazon.com/AmazonS3/latest/API/sig-v4-header-based-auth.html
 */
import { createHash, createHmac, timingSafeEqual } from "crypto";
import { IncomingHttpHeaders } from "http";

export interface SignedRequest {
    method: string;
    /** The request target as received: path and query, still percent-encoded. */
    url: string;
    headers: IncomingHttpHeaders;
    body: Buffer;
}

/** An S3 error: the HTTP status and the S3 error code and message the response body carries. */
export interface S3Refusal {
    status: number;
    code: string;
    message: string;
}

const SKEW_MS = 15 * 60 * 1000;

function sha256(data: string | Buffer): string {
    return createHash("sha256").update(data).digest("hex");
}

function hmac(key: Buffer | string, data: string): Buffer {
    return createHmac("sha256", key).update(data).digest();
}

/** RFC 3986 encoding, as SigV4 wants: encodeURIComponent leaves !'()* alone. */
function encode(s: string): string {
    return encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

function canonicalQuery(query: string): string {
    if (query === "") return "";
    return query
        .split("&")
        .map((pair) => {
            const eq = pair.indexOf("=");
            const [k, v] = eq < 0 ? [pair, ""] : [pair.slice(0, eq), pair.slice(eq + 1)];
            return [encode(decodeURIComponent(k)), encode(decodeURIComponent(v))];
        })
        .sort(([ak, av], [bk, bv]) => (ak < bk ? -1 : ak > bk ? 1 : av < bv ? -1 : av > bv ? 1 : 0))
        .map(([k, v]) => `${k}=${v}`)
        .join("&");
}

function header(headers: IncomingHttpHeaders, name: string): string | undefined {
    const v = headers[name];
    return Array.isArray(v) ? v.join(",") : v;
}

/** x-amz-date (20261125T211351Z) as a time, or NaN. */
function amzTime(s: string): number {
    const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(s);
    return m ? Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +m[6]) : NaN;
}

/**
 * Checks a request against the secret keys (access key id → secret) of the one region the server serves.
 * Returns null when S3 would accept it, else the refusal S3 would answer with.
 */
export function verifySigV4(req: SignedRequest, keys: ReadonlyMap<string, string>, region: string, now = Date.now()): S3Refusal | null {
    const auth = header(req.headers, "authorization");
    if (auth === undefined) return { status: 403, code: "AccessDenied", message: "Access Denied (anonymous requests are refused)" };
    const m = /^AWS4-HMAC-SHA256 Credential=([^/,\s]+)\/(\d{8})\/([^/,\s]+)\/([^/,\s]+)\/aws4_request,\s*SignedHeaders=([a-z0-9;-]+),\s*Signature=([0-9a-f]{64})$/.exec(auth);
    if (!m) return { status: 400, code: "AuthorizationHeaderMalformed", message: "The authorization header is malformed (only AWS4-HMAC-SHA256 is accepted)" };
    const [, keyId, scopeDate, scopeRegion, service, signedHeaderList, signature] = m;
    const secret = keys.get(keyId);
    if (secret === undefined) return { status: 403, code: "InvalidAccessKeyId", message: "The AWS Access Key Id you provided does not exist in our records." };
    if (scopeRegion !== region) {
        return { status: 400, code: "AuthorizationHeaderMalformed", message: `The authorization header is malformed; the region '${scopeRegion}' is wrong; expecting '${region}'` };
    }
    if (service !== "s3") return { status: 400, code: "AuthorizationHeaderMalformed", message: `The authorization header is malformed; service '${service}' is not s3` };
    const amzDate = header(req.headers, "x-amz-date") ?? "";
    const time = amzTime(amzDate);
    if (Number.isNaN(time) || amzDate.slice(0, 8) !== scopeDate) {
        return { status: 403, code: "AccessDenied", message: "x-amz-date is missing, malformed or not the credential scope's date" };
    }
    if (Math.abs(now - time) > SKEW_MS) {
        return { status: 403, code: "RequestTimeTooSkewed", message: "The difference between the request time and the current time is too large." };
    }
    const signedHeaders = signedHeaderList.split(";");
    if (!signedHeaders.includes("host")) return { status: 403, code: "AccessDenied", message: "The host header must be signed" };
    const payloadHash = header(req.headers, "x-amz-content-sha256");
    if (payloadHash === undefined) return { status: 400, code: "InvalidRequest", message: "Missing required header for this request: x-amz-content-sha256" };
    if (payloadHash !== "UNSIGNED-PAYLOAD" && payloadHash !== sha256(req.body)) {
        return { status: 400, code: "XAmzContentSHA256Mismatch", message: "The provided 'x-amz-content-sha256' header does not match what was computed." };
    }
    const md5 = header(req.headers, "content-md5");
    if (md5 !== undefined && md5 !== createHash("md5").update(req.body).digest("base64")) {
        return { status: 400, code: "BadDigest", message: "The Content-MD5 you specified did not match what we received." };
    }

    const q = req.url.indexOf("?");
    const [path, query] = q < 0 ? [req.url, ""] : [req.url.slice(0, q), req.url.slice(q + 1)];
    const canonicalHeaders = signedHeaders
        .map((name) => `${name}:${(header(req.headers, name) ?? "").trim().replace(/\s+/g, " ")}\n`)
        .join("");
    const canonicalRequest = [req.method, path, canonicalQuery(query), canonicalHeaders, signedHeaderList, payloadHash].join("\n");
    const scope = `${scopeDate}/${scopeRegion}/${service}/aws4_request`;
    const stringToSign = ["AWS4-HMAC-SHA256", amzDate, scope, sha256(canonicalRequest)].join("\n");
    const signingKey = hmac(hmac(hmac(hmac(`AWS4${secret}`, scopeDate), scopeRegion), service), "aws4_request");
    const expected = hmac(signingKey, stringToSign);
    if (!timingSafeEqual(expected, Buffer.from(signature, "hex"))) {
        return {
            status: 403,
            code: "SignatureDoesNotMatch",
            message: "The request signature we calculated does not match the signature you provided. Check your key and signing method.",
        };
    }
    return null;
}

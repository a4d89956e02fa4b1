/**
 * render/tlsIssuer.ts, which the mocks use with RDB_RENDER_REAL_TLS=1 for the data-plane harness: from the
 * inputs the component registers, it makes a real CA and server certificate that a TLS client would accept
 * for every name the component dials, and reject for others.
 */
import * as assert from "assert";
import * as crypto from "crypto";
import { issueTls } from "../../render/tlsIssuer";
import { renderComponent, resource } from "./helpers";

describe("the real TLS issuer of the mocks", () => {
    it("makes a verifiable chain from the component's own inputs", async () => {
        const r = await renderComponent("db", { replicas: 1, namespace: "shop" });
        const input = (name: string) => resource(r, name).inputs;
        const caKey = issueTls("tls:index/privateKey:PrivateKey", input("db-tls-ca-key"));
        const caPem = issueTls("tls:index/selfSignedCert:SelfSignedCert", { ...input("db-tls-ca"), privateKeyPem: caKey.privateKeyPem }).certPem;
        const serverKey = issueTls("tls:index/privateKey:PrivateKey", input("db-tls-server-key"));
        const request = issueTls("tls:index/certRequest:CertRequest", { ...input("db-tls-request"), privateKeyPem: serverKey.privateKeyPem });
        const certPem = issueTls("tls:index/locallySignedCert:LocallySignedCert", {
            ...input("db-tls-server"),
            certRequestPem: request.certRequestPem,
            caCertPem: caPem,
            caPrivateKeyPem: caKey.privateKeyPem,
        }).certPem;

        assert.match(serverKey.privateKeyPem, /^-----BEGIN EC PRIVATE KEY-----/, "SEC1, as the provider writes ECDSA keys");
        const ca = new crypto.X509Certificate(caPem);
        const cert = new crypto.X509Certificate(certPem);
        assert.strictEqual(ca.ca, true);
        assert.strictEqual(cert.ca, false);
        assert.ok(cert.verify(ca.publicKey), "the server certificate is signed by the CA");
        assert.ok(!cert.verify(new crypto.X509Certificate(issueTls("tls:index/selfSignedCert:SelfSignedCert", { ...input("db-tls-ca"), privateKeyPem: serverKey.privateKeyPem }).certPem).publicKey));
        assert.ok(cert.checkPrivateKey(crypto.createPrivateKey(serverKey.privateKeyPem)), "the certificate is the server key's");
        for (const host of input("db-tls-request").dnsNames as string[]) {
            assert.strictEqual(cert.checkHost(host), host, `${host} is not in the certificate`);
        }
        assert.strictEqual(cert.checkHost("db-0.db-headless.other.svc.cluster.local"), undefined);
        assert.deepStrictEqual(cert.keyUsage, ["1.3.6.1.5.5.7.3.1"], "server auth only");
        const days = (Date.parse(cert.validTo) - Date.now()) / 86400e3;
        assert.ok(days > 364 && days <= 366, `valid for ${days} days`);
    });
});

/**
 * TLS (docs/security.md, "Encryption in transit"): the certificate's names, where its keys are (and that they stay
 * secret), what the pods mount and the server, Patroni and the clients are told, and that `tls.enabled: false`
 * renders the plain configuration.
 */
import * as assert from "assert";
import { ReplicatedDatabaseArgs } from "../../components/args";
import { resolveArgs } from "../../components/resolve";
import { ArgError } from "../../components/validation";
import { container, env, find, renderComponent, resource } from "./helpers";

const PATRONI = { failover: "patroni", image: "registry.example.com/postgres-patroni:17.6" };
const OFF: ReplicatedDatabaseArgs = { tls: { enabled: false } };
const TLS_DIR = "/etc/replicated-db/tls";
const URI_OUTPUTS = [
    "writeConnectionString", "readConnectionString", "writeMultiHostConnectionString", "readMultiHostConnectionString",
    "jdbcWriteUrl", "jdbcWriteMultiHostUrl", "jdbcReadUrl",
];

function refused(args: ReplicatedDatabaseArgs, message: string): void {
    assert.throws(
        () => resolveArgs("db", args),
        (err: unknown) => err instanceof ArgError && err.message === message,
        `expected: ${message}`,
    );
}

describe("TLS", () => {
    it("makes one server certificate valid for every pod and Service name, short and long", async () => {
        const r = await renderComponent("db", { replicas: 2, namespace: "shop", clusterDomain: "k8s.example" });
        const services = ["db-headless", "db-rw", "db-ro"];
        assert.deepStrictEqual(resource(r, "db-tls-request").inputs.dnsNames, [
            "db-0.db-headless.shop.svc.k8s.example",
            "db-1.db-headless.shop.svc.k8s.example",
            "db-2.db-headless.shop.svc.k8s.example",
            ...services.flatMap((s) => [s, `${s}.shop`, `${s}.shop.svc`, `${s}.shop.svc.k8s.example`]),
        ]);
        // Every host a connection string or a script dials is among them.
        const names: string[] = resource(r, "db-tls-request").inputs.dnsNames;
        for (const host of [...r.outputs.podHosts, r.outputs.primaryHost, r.outputs.readOnlyHost]) {
            assert.ok(names.includes(host), `${host} is not in the certificate`);
        }
        const scaled = await renderComponent("db", { replicas: 4, namespace: "shop", clusterDomain: "k8s.example" });
        assert.ok(resource(scaled, "db-tls-request").inputs.dnsNames.includes("db-4.db-headless.shop.svc.k8s.example"));
    });

    it("signs it with a CA of its own, renewed by pulumi up before it expires", async () => {
        const r = await renderComponent("db", { tls: { validityDays: 90, renewBeforeDays: 20 } });
        const ca = resource(r, "db-tls-ca");
        assert.strictEqual(ca.type, "tls:index/selfSignedCert:SelfSignedCert");
        assert.strictEqual(ca.inputs.isCaCertificate, true);
        assert.strictEqual(ca.inputs.validityPeriodHours, 3650 * 24);
        assert.ok(ca.inputs.allowedUses.includes("cert_signing"));
        assert.match(ca.inputs.privateKeyPem, /^-----BEGIN EC PRIVATE KEY-----/);
        const server = resource(r, "db-tls-server");
        assert.strictEqual(server.type, "tls:index/locallySignedCert:LocallySignedCert");
        assert.strictEqual(server.inputs.validityPeriodHours, 90 * 24);
        assert.strictEqual(server.inputs.earlyRenewalHours, 20 * 24);
        assert.deepStrictEqual(server.inputs.allowedUses, ["digital_signature", "key_encipherment", "server_auth"]);
        assert.strictEqual(server.inputs.caCertPem, find(r, "Secret", "db-tls").stringData["ca.crt"]);
        assert.match(server.inputs.certRequestPem, /^-----BEGIN CERTIFICATE REQUEST-----/);
        // The CA's key signs; the server's own key is the request's: two different keys.
        assert.strictEqual(server.inputs.caPrivateKeyPem, ca.inputs.privateKeyPem);
        assert.notStrictEqual(server.inputs.caPrivateKeyPem, resource(r, "db-tls-request").inputs.privateKeyPem);
        for (const key of ["db-tls-ca-key", "db-tls-server-key"]) {
            assert.deepStrictEqual(resource(r, key).inputs, { algorithm: "ECDSA", ecdsaCurve: "P256" });
        }
    });

    it("keeps the private keys secret: in state, and in the one Secret the pods mount", async () => {
        const r = await renderComponent("db");
        for (const key of ["db-tls-ca-key", "db-tls-server-key"]) {
            assert.ok(resource(r, key).options.additionalSecretOutputs.includes("privateKeyPem"), `${key}'s privateKeyPem is not secret`);
        }
        const secret = find(r, "Secret", "db-tls");
        assert.strictEqual(secret.type, "kubernetes.io/tls");
        assert.deepStrictEqual(Object.keys(secret.stringData).sort(), ["ca.crt", "tls.crt", "tls.key"]);
        assert.match(secret.stringData["tls.key"], /^-----BEGIN EC PRIVATE KEY-----/);
        assert.match(secret.stringData["tls.crt"], /^-----BEGIN CERTIFICATE-----/);
        const captured = resource(r, "db-tls-secret");
        assert.ok(captured.secretPaths.some((p) => p === "stringData" || p === "stringData.tls.key"), `tls.key is not secret: ${captured.secretPaths}`);
        for (const out of ["data", "stringData"]) {
            assert.ok(captured.options.additionalSecretOutputs.includes(out), `${out} is not an additional secret output`);
        }
        const key = secret.stringData["tls.key"];
        for (const m of r.manifests.filter((x) => !(x.kind === "Secret" && x.metadata.name === "db-tls"))) {
            assert.ok(!JSON.stringify(m).includes(key), `${m.kind} ${m.metadata.name} contains the private key`);
        }
        assert.ok(!JSON.stringify(r.outputs).includes(key), "an output contains the private key");
        // The CA certificate is public: an output in the clear, the Secret's ca.crt.
        assert.strictEqual(r.outputs.caCertificate, secret.stringData["ca.crt"]);
        assert.ok(!r.secretOutputs.includes("caCertificate"));
        // The pods start once the Secret exists.
        assert.ok(resource(r, "db-statefulset").options.dependsOn.includes("db-tls-secret"));
    });

    for (const [mode, extra] of [["manual", {}], ["patroni", PATRONI]] as const) {
        it(`mounts the Secret in the database container only, readable by the server's group (${mode})`, async () => {
            const r = await renderComponent("db", extra);
            const sts = find(r, "StatefulSet");
            const spec = sts.spec.template.spec;
            const volume = spec.volumes.find((v: any) => v.name === "tls");
            assert.deepStrictEqual(volume.secret, {
                secretName: "db-tls",
                defaultMode: 0o440,
                items: ["tls.crt", "tls.key", "ca.crt"].map((k) => ({ key: k, path: k })),
            });
            assert.strictEqual(spec.securityContext.fsGroup, 999);
            const pg = container(sts, "postgres");
            assert.deepStrictEqual(pg.volumeMounts.find((m: any) => m.name === "tls"), { name: "tls", mountPath: TLS_DIR, readOnly: true });
            assert.strictEqual(env(pg, "RDB_TLS_CA").value, `${TLS_DIR}/ca.crt`);
            for (const c of spec.containers.filter((x: any) => x.name !== "postgres")) {
                assert.ok(!c.volumeMounts.some((m: any) => m.name === "tls"), `${c.name} mounts the TLS Secret`);
            }
        });
    }

    it("turns the server's TLS on and refuses plain-text network connections", async () => {
        const data = find(await renderComponent("db"), "ConfigMap", "db-settings").data;
        for (const line of [
            "ssl = 'on'",
            `ssl_cert_file = '${TLS_DIR}/tls.crt'`,
            `ssl_key_file = '${TLS_DIR}/tls.key'`,
            `ssl_ca_file = '${TLS_DIR}/ca.crt'`,
            "ssl_min_protocol_version = 'TLSv1.2'",
        ]) {
            assert.ok(data["postgresql.conf"].split("\n").includes(line), `postgresql.conf lacks ${line}`);
        }
        const rules = data["pg_hba.conf"].split("\n").filter((l: string) => l && !l.startsWith("#"));
        assert.deepStrictEqual(rules, [
            "local postgres monitor scram-sha-256",
            "local all all peer",
            "local replication postgres peer",
            "hostssl replication replicator all scram-sha-256",
            "hostssl all all all scram-sha-256",
            "hostnossl replication all all reject",
            "hostnossl all all all reject",
        ]);
    });

    it("gives Patroni the TLS settings, verify-full replication and rewinds, and an HTTPS REST API", async () => {
        const r = await renderComponent("db", PATRONI);
        const yml = JSON.parse(find(r, "ConfigMap", "db-settings").data["patroni.yml"]);
        const verify = { sslmode: "verify-full", sslrootcert: `${TLS_DIR}/ca.crt` };
        assert.deepStrictEqual(yml.postgresql.authentication.replication, { username: "replicator", ...verify });
        assert.deepStrictEqual(yml.postgresql.authentication.rewind, { username: "rewind", ...verify }, "the rewind role of its own, never the superuser");
        assert.deepStrictEqual(yml.postgresql.authentication.superuser, { username: "postgres" }, "Patroni's own connections use the socket");
        // Its own replication connection too (a replica's timeline): over TCP it would dial localhost, which the
        // certificate does not name, and fail verify-full (seen in tests/data/patroni.test.ts before this).
        assert.strictEqual(yml.postgresql.use_unix_socket_repl, true);
        const rules = find(r, "ConfigMap", "db-settings").data["pg_hba.conf"].split("\n");
        assert.ok(rules.includes("local replication replicator scram-sha-256"), "no socket rule for Patroni's replication connection");
        assert.deepStrictEqual(yml.restapi, { listen: "0.0.0.0:8008", certfile: `${TLS_DIR}/tls.crt`, keyfile: `${TLS_DIR}/tls.key`, cafile: `${TLS_DIR}/ca.crt` });
        assert.deepStrictEqual(yml.ctl, { cacert: `${TLS_DIR}/ca.crt` });
        for (const params of [yml.postgresql.parameters, yml.bootstrap.dcs.postgresql.parameters]) {
            assert.strictEqual(params.ssl, "on");
            assert.strictEqual(params.ssl_key_file, `${TLS_DIR}/tls.key`);
        }
        assert.strictEqual(container(find(r, "StatefulSet"), "postgres").livenessProbe.httpGet.scheme, "HTTPS");
    });

    it("asks every connection string for verify-full and publishes the CA", async () => {
        const r = await renderComponent("db");
        for (const name of URI_OUTPUTS) {
            const text: string = r.outputs[name];
            assert.match(text, /[?&]sslmode=verify-full(&|$)/, name);
            assert.strictEqual(text.includes("ssl=true"), name.startsWith("jdbc"), `${name}: ssl=true in JDBC URLs only`);
            assert.strictEqual((text.match(/\?/g) ?? []).length, 1, `${name} has one query`);
        }
        assert.match(r.outputs.caCertificate, /^-----BEGIN CERTIFICATE-----/);
    });

    it("renders the plain configuration with tls.enabled false", async () => {
        const r = await renderComponent("db", OFF);
        const tlsTypes = r.resources.filter((x) => x.type.startsWith("tls:") || x.name.includes("-tls") || x.type.includes("cert-manager"));
        assert.deepStrictEqual(tlsTypes.map((x) => x.name), []);
        const data = find(r, "ConfigMap", "db-settings").data;
        assert.doesNotMatch(data["postgresql.conf"], /^ssl/m);
        assert.deepStrictEqual(data["pg_hba.conf"].split("\n").filter((l: string) => l && !l.startsWith("#")), [
            "local postgres monitor scram-sha-256",
            "local all all peer",
            "local replication postgres peer",
            "host replication replicator all scram-sha-256",
            "host all all all scram-sha-256",
        ]);
        const sts = find(r, "StatefulSet");
        assert.ok(!sts.spec.template.spec.volumes.some((v: any) => v.name === "tls"));
        assert.strictEqual(env(container(sts, "postgres"), "RDB_TLS_CA").value, "");
        assert.strictEqual(r.outputs.writeConnectionString, r.outputs.writeConnectionString.split("?")[0], "no query on the Service string");
        for (const name of URI_OUTPUTS) {
            assert.doesNotMatch(r.outputs[name], /ssl/, name);
        }
        assert.strictEqual(r.outputs.caCertificate, "");

        const p = await renderComponent("db", { ...PATRONI, ...OFF });
        const yml = JSON.parse(find(p, "ConfigMap", "db-settings").data["patroni.yml"]);
        assert.deepStrictEqual(yml.restapi, { listen: "0.0.0.0:8008" });
        assert.strictEqual(yml.ctl, undefined);
        assert.deepStrictEqual(yml.postgresql.authentication.replication, { username: "replicator" });
        assert.strictEqual(yml.postgresql.parameters.ssl, undefined);
        assert.strictEqual(container(find(p, "StatefulSet"), "postgres").livenessProbe.httpGet.scheme, "HTTP");
    });

    it("asks cert-manager for the same names instead, with a new key at every renewal", async () => {
        const r = await renderComponent("db", { tls: { source: "certManager", issuerName: "corp-ca", issuerKind: "ClusterIssuer", validityDays: 60, renewBeforeDays: 15 } });
        const cert = find(r, "Certificate", "db");
        assert.strictEqual(cert.apiVersion, "cert-manager.io/v1");
        const generated = await renderComponent("db");
        assert.deepStrictEqual(cert.spec.dnsNames, resource(generated, "db-tls-request").inputs.dnsNames);
        assert.strictEqual(cert.spec.secretName, "db-tls");
        assert.deepStrictEqual(cert.spec.issuerRef, { name: "corp-ca", kind: "ClusterIssuer", group: "cert-manager.io" });
        assert.deepStrictEqual(cert.spec.privateKey, { algorithm: "ECDSA", size: 256, rotationPolicy: "Always" });
        assert.deepStrictEqual([cert.spec.duration, cert.spec.renewBefore], ["1440h", "360h"]);
        assert.deepStrictEqual(r.resources.filter((x) => x.type.startsWith("tls:")), []);
        assert.ok(!r.manifests.some((m) => m.kind === "Secret" && m.metadata.name === "db-tls"), "cert-manager writes the Secret, not the component");
        assert.strictEqual(find(r, "StatefulSet").spec.template.spec.volumes.find((v: any) => v.name === "tls").secret.secretName, "db-tls");
        assert.ok(resource(r, "db-statefulset").options.dependsOn.includes("db-certificate"));
        assert.strictEqual(r.outputs.caCertificate, "");
    });

    it("mounts the user's Secret and publishes its CA, creating no certificate", async () => {
        const r = await renderComponent("db", { tls: { source: "secret", secretName: "shop-db-tls" } });
        assert.deepStrictEqual(r.resources.filter((x) => x.type.startsWith("tls:")), []);
        assert.strictEqual(resource(r, "db-tls-existing-secret").read, true);
        assert.ok(!r.manifests.some((m) => m.kind === "Secret" && m.metadata.name !== "db-credentials"));
        assert.strictEqual(find(r, "StatefulSet").spec.template.spec.volumes.find((v: any) => v.name === "tls").secret.secretName, "shop-db-tls");
        assert.match(r.outputs.caCertificate, /^-----BEGIN CERTIFICATE-----/);
        assert.ok(!r.secretOutputs.includes("caCertificate"));
    });

    it("refuses bad TLS settings, naming the setting, the value and what is allowed", () => {
        refused({ tls: { source: "acme" } }, 'invalid tls.source: "acme" (allowed: "generated", "certManager", "secret")');
        refused({ tls: { enabled: "yes" as unknown as boolean } }, 'invalid tls.enabled: "yes" (allowed: true or false)');
        refused({ tls: { source: "certManager" } }, 'invalid tls.issuerName: "" (allowed: a DNS-1123 subdomain of at most 253 characters)');
        refused(
            { tls: { source: "certManager", issuerName: "ca", issuerKind: "Vault" } },
            'invalid tls.issuerKind: "Vault" (allowed: "Issuer", "ClusterIssuer")',
        );
        refused({ tls: { issuerName: "ca" } }, 'invalid tls.issuerName: "ca" (allowed: empty unless tls.source is "certManager")');
        refused({ tls: { source: "secret" } }, 'invalid tls.secretName: "" (allowed: a DNS-1123 subdomain of at most 253 characters)');
        refused({ tls: { secretName: "mine" } }, 'invalid tls.secretName: "mine" (allowed: empty unless tls.source is "secret")');
        refused({ tls: { validityDays: 1 } }, "invalid tls.validityDays: 1 (allowed: a whole number from 2 to 3650)");
        refused(
            { tls: { validityDays: 30 } },
            "invalid tls.renewBeforeDays: 30 (allowed: less than tls.validityDays (30): the certificate would be renewed at every run)",
        );
        refused({ tls: { ca: "x" } as never }, 'invalid tls.ca: "x" (allowed: one of the TLS settings: enabled, source, issuerName, issuerKind, secretName, validityDays, renewBeforeDays, extraDnsNames, poolerSecretName)');
        refused({ tls: "off" as never }, 'invalid tls: "off" (allowed: a map of TLS settings (see docs/configuration.md))');
        assert.doesNotThrow(() => resolveArgs("db", { tls: { enabled: false, source: "secret", secretName: "kept-for-later" } }));
        refused({ tls: { poolerSecretName: "mine" } }, 'invalid tls.poolerSecretName: "mine" (allowed: empty unless tls.source is "secret")');
        refused(
            { tls: { source: "secret", secretName: "mine" }, pooler: { enabled: true } },
            `invalid tls.poolerSecretName: "" (allowed: a Secret with the pooler's own certificate (tls.crt, tls.key, ca.crt) when tls.source is "secret" and ` +
                `pooler.enabled is true, so that the pooler's pods never hold the servers' key (tls.secretName's name again shares it, knowingly))`,
        );
        refused({ tls: { source: "secret", secretName: "mine", poolerSecretName: "Bad_Name" }, pooler: { enabled: true } }, 'invalid tls.poolerSecretName: "Bad_Name" (allowed: a DNS-1123 subdomain of at most 253 characters)');
        assert.doesNotThrow(() => resolveArgs("db", { tls: { source: "secret", secretName: "mine", poolerSecretName: "mine" }, pooler: { enabled: true } }));
        assert.doesNotThrow(() => resolveArgs("db", { tls: { source: "secret", secretName: "mine" } }), "no pooler, no pooler Secret");
    });
});

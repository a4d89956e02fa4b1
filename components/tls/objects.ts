/**
 * The server certificate the pods mount (README, "Encryption in transit"), from one of three sources:
 * - "generated": a CA and one server certificate for every pod and Service name, made with @pulumi/tls and kept
 *   in the Secret `<cluster>-tls`; `pulumi up` renews the server certificate `renewBeforeDays` before it expires.
 *   Private keys live only in Pulumi state (secret) and that Secret.
 * - "certManager": a cert-manager Certificate with the same names, which cert-manager keeps in `<cluster>-tls`.
 * - "secret": the user's Secret, read for its CA certificate only.
 * With the pooler on, the pooler gets a certificate of its own, for its Services' names only, in
 * `<cluster>-pooler-tls` (generated under the same CA, or a second cert-manager Certificate; the user's
 * `tls.poolerSecretName` with "secret"): its pods never hold the servers' private key, and its key cannot pass
 * for a database server.
 * Nothing with `tls.enabled` false.
 */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import * as tls from "@pulumi/tls";
import { TLS_KEYS } from "../naming";
import { certificateDnsNames, serviceDnsNames } from "./dnsNames";
import { poolerServiceNames } from "../pooler/services";
import { BuildContext } from "../core/context";

/** The generated CA's validity, in days: the server certificate is renewed many times under one CA. */
export const CA_VALIDITY_DAYS = 3650;

export interface Tls {
    /** The object the pods must wait for (the Secret or the Certificate); undefined when there is none of ours. */
    resource?: pulumi.Resource;
    /** The same for the pooler's pods; undefined without a pooler or without one of ours. */
    poolerResource?: pulumi.Resource;
    /** The CA certificate (PEM) that clients verify the servers with; "" where the component cannot know it. */
    caCertificate: pulumi.Output<string>;
}

const HOURS_PER_DAY = 24;
/** ECDSA P-256: as strong as RSA 3072 for a fraction of the handshake cost; libpq, pgjdbc and Python's ssl take it. */
const KEY = { algorithm: "ECDSA", ecdsaCurve: "P256" } as const;
const PRIVATE_KEY_OUTPUTS = ["privateKeyPem", "privateKeyOpenssh", "privateKeyPemPkcs8"];

export function createTls(ctx: BuildContext): Tls {
    const t = ctx.args.tls;
    if (!t.enabled) {
        return { caCertificate: pulumi.output("") };
    }
    switch (t.source) {
        case "generated":
            return generated(ctx);
        case "certManager":
            return certManager(ctx);
        default:
            return userSecret(ctx);
    }
}

function dnsNames(ctx: BuildContext): string[] {
    return certificateDnsNames(ctx.plan, ctx.args.namespace, ctx.args.clusterDomain, ctx.args.tls.extraDnsNames);
}

/** The first pooled Service's full name (the read-write one's when it is pooled). */
function poolerCommonName(ctx: BuildContext): string {
    return ctx.names.serviceHost(poolerServiceNames(ctx.args, ctx.names)[0]);
}

/** The pooler's certificate's names: its Services' only, short, namespaced and fully qualified. */
function poolerDnsNames(ctx: BuildContext): string[] {
    return poolerServiceNames(ctx.args, ctx.names).flatMap((svc) => serviceDnsNames(svc, ctx.args.namespace, ctx.args.clusterDomain));
}

function generated(ctx: BuildContext): Tls {
    const { args, parent } = ctx;
    const t = args.tls;
    const key = (role: string) => new tls.PrivateKey(`${ctx.name}-${role}-key`, { ...KEY }, { parent, additionalSecretOutputs: PRIVATE_KEY_OUTPUTS });
    const caKey = key("tls-ca");
    const ca = new tls.SelfSignedCert(
        `${ctx.name}-tls-ca`,
        {
            privateKeyPem: caKey.privateKeyPem,
            subject: { commonName: `${args.clusterName} CA (${args.namespace})`, organization: "replicated-db" },
            isCaCertificate: true,
            validityPeriodHours: CA_VALIDITY_DAYS * HOURS_PER_DAY,
            earlyRenewalHours: t.renewBeforeDays * HOURS_PER_DAY,
            allowedUses: ["cert_signing", "crl_signing", "digital_signature"],
        },
        { parent },
    );
    const leaf = (role: string, secretName: string, commonName: string, names: string[]) => {
        const leafKey = key(`${role}`);
        const request = new tls.CertRequest(
            `${ctx.name}-${role === "tls-server" ? "tls" : role}-request`,
            { privateKeyPem: leafKey.privateKeyPem, subject: { commonName, organization: "replicated-db" }, dnsNames: names },
            { parent },
        );
        const cert = new tls.LocallySignedCert(
            `${ctx.name}-${role}`,
            {
                certRequestPem: request.certRequestPem,
                caPrivateKeyPem: caKey.privateKeyPem,
                caCertPem: ca.certPem,
                validityPeriodHours: t.validityDays * HOURS_PER_DAY,
                // `pulumi up` inside this window replaces the certificate; the pods reload it (README).
                earlyRenewalHours: t.renewBeforeDays * HOURS_PER_DAY,
                allowedUses: ["digital_signature", "key_encipherment", "server_auth"],
            },
            { parent },
        );
        return new k8s.core.v1.Secret(
            `${ctx.name}-${role === "tls-server" ? "tls" : role}-secret`,
            {
                metadata: { name: secretName, namespace: args.namespace, labels: ctx.labels("tls") },
                type: "kubernetes.io/tls",
                stringData: {
                    [TLS_KEYS.cert]: cert.certPem,
                    [TLS_KEYS.key]: pulumi.secret(leafKey.privateKeyPem),
                    [TLS_KEYS.ca]: ca.certPem,
                },
            },
            { parent, additionalSecretOutputs: ["data", "stringData"] },
        );
    };
    const secret = leaf("tls-server", ctx.names.tlsSecret, ctx.names.serviceHost(ctx.names.readWriteService), dnsNames(ctx));
    const pooler = poolerDnsNames(ctx);
    const poolerSecret = pooler.length ? leaf("pooler-tls", ctx.names.poolerTlsSecret, poolerCommonName(ctx), pooler) : undefined;
    return { resource: secret, poolerResource: poolerSecret, caCertificate: ca.certPem };
}

function certManager(ctx: BuildContext): Tls {
    const { args, parent } = ctx;
    const t = args.tls;
    const certificate = (resourceName: string, name: string, secretName: string, commonName: string, names: string[]) =>
        new k8s.apiextensions.CustomResource(
            resourceName,
            {
                apiVersion: "cert-manager.io/v1",
                kind: "Certificate",
                metadata: { name, namespace: args.namespace, labels: ctx.labels("tls") },
                spec: {
                    secretName,
                    commonName,
                    dnsNames: names,
                    duration: `${t.validityDays * HOURS_PER_DAY}h`,
                    renewBefore: `${t.renewBeforeDays * HOURS_PER_DAY}h`,
                    // A new key with every renewal: a leaked key is worthless after the next one.
                    privateKey: { algorithm: "ECDSA", size: 256, rotationPolicy: "Always" },
                    usages: ["digital signature", "key encipherment", "server auth"],
                    issuerRef: { name: t.issuerName, kind: t.issuerKind, group: "cert-manager.io" },
                },
            },
            { parent },
        );
    const server = certificate(`${ctx.name}-certificate`, ctx.names.certificate, ctx.names.tlsSecret, ctx.names.serviceHost(ctx.names.readWriteService), dnsNames(ctx));
    const pooler = poolerDnsNames(ctx);
    const poolerCertificate = pooler.length
        ? certificate(`${ctx.name}-pooler-certificate`, ctx.names.poolerCertificate, ctx.names.poolerTlsSecret, poolerCommonName(ctx), pooler)
        : undefined;
    // The issuer's CA is in the Secret's ca.crt once cert-manager has issued; it is not known at render time.
    return { resource: server, poolerResource: poolerCertificate, caCertificate: pulumi.output("") };
}

function userSecret(ctx: BuildContext): Tls {
    const { args, parent } = ctx;
    const name = ctx.names.tlsSecret;
    const existing = k8s.core.v1.Secret.get(`${ctx.name}-tls-existing-secret`, `${args.namespace}/${name}`, { parent });
    // A CA certificate is public: it leaves the Secret's (secret) data as a plain output.
    const caCertificate = pulumi.unsecret(
        existing.data.apply((data) => {
            const value = data?.[TLS_KEYS.ca];
            if (!value) {
                throw new Error(`Secret ${args.namespace}/${name} has no key "${TLS_KEYS.ca}"`);
            }
            return Buffer.from(value, "base64").toString("utf8");
        }),
    );
    return { caCertificate };
}

/**
 * The `tls` arg: defaults and checks, and which Secret the pods mount. Pure; resolveArgs calls it before any
 * resource exists.
 */
import { ResolvedTls, TlsArgs } from "../args";
import { DEFAULTS } from "../argTable";
import { ArgError, SettingNamer, argName, checkBoolean, checkDnsSubdomain, checkInteger, checkSettingsMap } from "../validation";

/** Where the certificate comes from. */
export const TLS_SOURCES = ["generated", "certManager", "secret"];
/** The kinds of cert-manager issuer a Certificate may name. */
export const ISSUER_KINDS = ["Issuer", "ClusterIssuer"];
/** The longest validity we accept: ten years, which is also the generated CA's. */
export const MAX_VALIDITY_DAYS = 3650;

const quoted = (values: string[]) => values.map((v) => `"${v}"`).join(", ");

/** The Secret `<cluster>-tls` the component fills (or has cert-manager fill) with the certificate. */
export function generatedSecretName(clusterName: string): string {
    return `${clusterName}-tls`;
}

/** The pooler's own: `<cluster>-pooler-tls`, with a certificate for the pooler's Services only. */
export function generatedPoolerSecretName(clusterName: string): string {
    return `${clusterName}-pooler-tls`;
}

/** The TLS settings with their fields' defaults; a source's own fields are required with it and refused without it. */
export function resolveTls(given: TlsArgs, clusterName: string, setting: SettingNamer = argName): ResolvedTls {
    const d = DEFAULTS.tls;
    checkSettingsMap(setting("tls"), given, Object.keys(d), "TLS settings");
    const s = (key: keyof TlsArgs) => setting(`tls.${key}`);
    const enabled = checkBoolean(s("enabled"), given.enabled ?? d.enabled);
    const source = given.source ?? d.source;
    if (!TLS_SOURCES.includes(source)) {
        throw new ArgError(s("source"), source, quoted(TLS_SOURCES));
    }
    const issuerKind = given.issuerKind ?? d.issuerKind;
    if (!ISSUER_KINDS.includes(issuerKind)) {
        throw new ArgError(s("issuerKind"), issuerKind, quoted(ISSUER_KINDS));
    }
    const issuerName = given.issuerName ?? d.issuerName;
    if (source === "certManager") {
        checkDnsSubdomain(s("issuerName"), issuerName);
    } else if (issuerName !== "") {
        throw new ArgError(s("issuerName"), issuerName, `empty unless ${s("source")} is "certManager"`);
    }
    const secretName = given.secretName ?? d.secretName;
    if (source === "secret") {
        checkDnsSubdomain(s("secretName"), secretName);
    } else if (secretName !== "") {
        throw new ArgError(s("secretName"), secretName, `empty unless ${s("source")} is "secret"`);
    }
    const validityDays = checkInteger(s("validityDays"), given.validityDays ?? d.validityDays, 2, MAX_VALIDITY_DAYS);
    const renewBeforeDays = checkInteger(s("renewBeforeDays"), given.renewBeforeDays ?? d.renewBeforeDays, 1, MAX_VALIDITY_DAYS);
    if (renewBeforeDays >= validityDays) {
        throw new ArgError(s("renewBeforeDays"), renewBeforeDays, `less than ${s("validityDays")} (${validityDays}): the certificate would be renewed at every run`);
    }
    const extraDnsNames = given.extraDnsNames ?? [...d.extraDnsNames];
    if (!Array.isArray(extraDnsNames)) {
        throw new ArgError(s("extraDnsNames"), extraDnsNames, 'a list of DNS names such as ["db.eu-west.example.com"]');
    }
    extraDnsNames.forEach((n, i) => checkDnsSubdomain(`${s("extraDnsNames")}[${i}]`, n));
    if (source === "secret" && extraDnsNames.length > 0) {
        throw new ArgError(s("extraDnsNames"), extraDnsNames, `empty with ${s("source")} "secret" (your certificate carries the names you gave it)`);
    }
    const poolerSecretName = given.poolerSecretName ?? d.poolerSecretName;
    if (source === "secret") {
        // Whether it is required depends on the pooler: resolveArgs checks that once the pooler is resolved.
        if (poolerSecretName !== "") checkDnsSubdomain(s("poolerSecretName"), poolerSecretName);
    } else if (poolerSecretName !== "") {
        throw new ArgError(s("poolerSecretName"), poolerSecretName, `empty unless ${s("source")} is "secret"`);
    }
    return {
        enabled,
        source,
        issuerName,
        issuerKind,
        secretName,
        validityDays,
        renewBeforeDays,
        extraDnsNames: [...extraDnsNames],
        poolerSecretName,
        mountedSecretName: source === "secret" ? secretName : generatedSecretName(clusterName),
        mountedPoolerSecretName: source === "secret" ? poolerSecretName : generatedPoolerSecretName(clusterName),
    };
}

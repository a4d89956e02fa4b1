/**
 * The `standby` arg (README, "Disaster recovery: standby cluster"): defaults and checks. Pure; resolveArgs
 * calls it before any resource exists.
 */
import { ResolvedStandby, StandbyArgs } from "../args";
import { DEFAULTS } from "../argTable";
import { sourceStanza, stanzaName } from "../backup/resolve";
import { checkCidr } from "../network/resolve";
import { ArgError, SettingNamer, argName, checkBoolean, checkDnsSubdomain, checkInteger, checkSettingsMap } from "../validation";

const PEM_CERTIFICATE = /^-----BEGIN CERTIFICATE-----\r?\n[\s\S]+\r?\n-----END CERTIFICATE-----\s*$/;

/** What the rest of this cluster's args must agree with. */
export interface StandbyContext {
    tlsEnabled: boolean;
    /** Whether `restore` is set: a standby's data comes from its source, not from a restore. */
    restoring: boolean;
    /** This cluster's namespace and name: its own stanza, which the source's must not be. */
    namespace: string;
    clusterName: string;
}

/**
 * The standby settings with their fields' defaults, or undefined when the arg is left out (not a standby).
 * With `enabled` the source must be named, the replication password's Secret given and, with TLS on, the
 * source's CA; with `enabled: false` (a promoted standby) the fields may stay as they were.
 */
export function resolveStandby(given: StandbyArgs | undefined, ctx: StandbyContext, setting: SettingNamer = argName): ResolvedStandby | undefined {
    if (given === undefined) return undefined;
    const d = DEFAULTS.standby;
    checkSettingsMap(setting("standby"), given, Object.keys(d), "standby settings");
    const s = (key: keyof StandbyArgs) => setting(`standby.${key}`);
    const enabled = checkBoolean(s("enabled"), given.enabled ?? d.enabled);
    const sourceHosts = given.sourceHosts ?? [...d.sourceHosts];
    if (!Array.isArray(sourceHosts)) {
        throw new ArgError(s("sourceHosts"), sourceHosts, 'a list of host names such as ["db-rw.databases.svc.eu-west.example"]');
    }
    sourceHosts.forEach((h, i) => checkDnsSubdomain(`${s("sourceHosts")}[${i}]`, h));
    if (enabled && sourceHosts.length === 0) {
        throw new ArgError(s("sourceHosts"), sourceHosts, `at least one host name of the source when ${s("enabled")} is true`);
    }
    const sourcePort = checkInteger(s("sourcePort"), given.sourcePort ?? d.sourcePort, 1, 65535);
    const replicationSecretName = given.replicationSecretName ?? d.replicationSecretName;
    if (replicationSecretName !== "") checkDnsSubdomain(s("replicationSecretName"), replicationSecretName);
    if (enabled && replicationSecretName === "") {
        throw new ArgError(
            s("replicationSecretName"),
            replicationSecretName,
            `a Secret with key replication-password holding the source's replication password, when ${s("enabled")} is true`,
        );
    }
    const sourceCaCertificate = given.sourceCaCertificate ?? d.sourceCaCertificate;
    if (typeof sourceCaCertificate !== "string" || (sourceCaCertificate !== "" && !PEM_CERTIFICATE.test(sourceCaCertificate))) {
        throw new ArgError(s("sourceCaCertificate"), sourceCaCertificate, "a PEM certificate (-----BEGIN CERTIFICATE----- ...), the source's caCertificate output");
    }
    if (enabled && ctx.tlsEnabled && sourceCaCertificate === "") {
        throw new ArgError(
            s("sourceCaCertificate"),
            sourceCaCertificate,
            `the source's CA certificate (PEM) when ${setting("tls.enabled")} is true: the standby verifies the source with verify-full`,
        );
    }
    const sourceCidrs = given.sourceCidrs ?? [...d.sourceCidrs];
    if (!Array.isArray(sourceCidrs) || sourceCidrs.length === 0) {
        throw new ArgError(s("sourceCidrs"), sourceCidrs, "a non-empty list of CIDRs: where the source may be");
    }
    sourceCidrs.forEach((c, i) => checkCidr(`${s("sourceCidrs")}[${i}]`, c));
    if (ctx.restoring) {
        throw new ArgError(
            setting("standby"),
            given,
            `unset when ${setting("restore")} is set: a standby's data comes from its source, a restore's from the backups`,
        );
    }
    const { archiveFromClusterName, archiveFromNamespace, archiveStanza } = resolveArchiveFeed(given, ctx, setting);
    return {
        enabled,
        sourceHosts: [...sourceHosts],
        sourcePort,
        replicationSecretName,
        sourceCaCertificate,
        sourceCidrs: [...sourceCidrs],
        archiveFromClusterName,
        archiveFromNamespace,
        archiveStanza,
    };
}

/**
 * The archive feed: the source's stanza in the repository `backup` describes (resolveBackup then checks the
 * repository fields, as for a restore). Never this cluster's own stanza: once promoted, a cluster with backups on
 * archives to its own stanza, which must never be the source's.
 */
function resolveArchiveFeed(
    given: StandbyArgs,
    ctx: StandbyContext,
    setting: SettingNamer,
): Pick<ResolvedStandby, "archiveFromClusterName" | "archiveFromNamespace" | "archiveStanza"> {
    const d = DEFAULTS.standby;
    const s = (key: keyof StandbyArgs) => setting(`standby.${key}`);
    const archiveFromClusterName = given.archiveFromClusterName ?? d.archiveFromClusterName;
    const archiveFromNamespace = given.archiveFromNamespace ?? d.archiveFromNamespace;
    if (archiveFromClusterName === "") {
        if (archiveFromNamespace !== "") {
            throw new ArgError(
                s("archiveFromClusterName"),
                archiveFromClusterName,
                `the source's clusterName (its stanza in the backup repository) when ${s("archiveFromNamespace")} is set`,
            );
        }
        return { archiveFromClusterName, archiveFromNamespace, archiveStanza: "" };
    }
    const archiveStanza = sourceStanza(s("archiveFromClusterName"), archiveFromClusterName, s("archiveFromNamespace"), archiveFromNamespace, ctx);
    if (archiveStanza === stanzaName(ctx.namespace, ctx.clusterName)) {
        throw new ArgError(
            s("archiveFromClusterName"),
            archiveFromClusterName,
            `another stanza than this cluster's own (${archiveStanza}): after a promotion this cluster archives there, ` +
                `which must never be the source's (give this cluster another clusterName, or set ${s("archiveFromNamespace")} to the source's namespace)`,
        );
    }
    return { archiveFromClusterName, archiveFromNamespace, archiveStanza };
}

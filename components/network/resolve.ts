/**
 * The `networkPolicy` arg: defaults and checks (label selectors by Kubernetes' rules, CIDRs). Pure;
 * resolveArgs calls it before any resource exists.
 */
import { isIPv6 } from "net";
import { NetworkPeerArgs, NetworkPolicyArgs, ResolvedNetworkPeer, ResolvedNetworkPolicy } from "../args";
import { DEFAULTS, NETWORK_PEER_FIELDS } from "../argTable";
import { ArgError, SettingNamer, argName, checkBoolean, checkInteger, checkSettingsMap } from "../validation";

const LABEL_NAME = /^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

function isMap(v: unknown): v is Record<string, unknown> {
    return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** A label key: an optional DNS-subdomain prefix of at most 253 characters and '/', then a name of at most 63. */
export function checkLabelKey(setting: string, key: string): string {
    const slash = key.lastIndexOf("/");
    const prefix = slash < 0 ? undefined : key.slice(0, slash);
    const name = slash < 0 ? key : key.slice(slash + 1);
    const prefixOk = prefix === undefined || (prefix.length <= 253 && DNS_SUBDOMAIN.test(prefix));
    if (!prefixOk || name.length > 63 || !LABEL_NAME.test(name)) {
        throw new ArgError(
            setting,
            key,
            "a label key: an optional DNS-1123 subdomain prefix and '/', then at most 63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit",
        );
    }
    return key;
}

/** A label value: empty, or at most 63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit. */
export function checkLabelValue(setting: string, value: unknown): string {
    if (typeof value !== "string" || value.length > 63 || (value !== "" && !LABEL_NAME.test(value))) {
        throw new ArgError(setting, value, "a label value: empty, or at most 63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit");
    }
    return value;
}

/** A map of label keys to values, as a selector's matchLabels. */
export function checkLabels(setting: string, labels: unknown): { [key: string]: string } {
    if (!isMap(labels)) {
        throw new ArgError(setting, labels, "a map of label keys to values, such as {\"app\": \"web\"}");
    }
    for (const [k, v] of Object.entries(labels)) {
        checkLabelKey(setting, k);
        checkLabelValue(`${setting}.${k}`, v);
    }
    return { ...(labels as Record<string, string>) };
}

/**
 * A CIDR as a NetworkPolicy's ipBlock takes it: IPv4 ("10.0.0.0/16", no host bits set, so that a typo such as
 * "10.0.0.1/16" does not silently mean the whole block) or IPv6 ("fd00::/64", "::/0").
 */
export function checkCidr(setting: string, value: unknown): string {
    const bad = (): never => {
        throw new ArgError(setting, value, 'a CIDR such as "10.0.0.0/16" or "fd00::/64", with no bits set after the prefix');
    };
    if (typeof value !== "string") return bad();
    const m = /^([^/]+)\/([0-9]{1,3})$/.exec(value);
    if (!m) return bad();
    const bits = Number(m[2]);
    const v4 = /^([0-9]{1,3})\.([0-9]{1,3})\.([0-9]{1,3})\.([0-9]{1,3})$/.exec(m[1]);
    if (v4) {
        const octets = v4.slice(1).map(Number);
        if (bits > 32 || octets.some((o, i) => o > 255 || String(o) !== v4[i + 1])) return bad();
        const address = octets.reduce((a, o) => a * 256 + o, 0);
        const hostBits = 2 ** (32 - bits);
        if (address % hostBits !== 0) return bad();
        return value;
    }
    if (!isIPv6(m[1]) || bits > 128) return bad();
    return value;
}

function checkCidrs(setting: string, value: unknown, why: string): string[] {
    if (!Array.isArray(value) || value.length === 0) {
        throw new ArgError(setting, value, `a non-empty list of CIDRs: ${why}`);
    }
    return value.map((c, i) => checkCidr(`${setting}[${i}]`, c));
}

/** A list of CIDRs that may be empty. */
export function checkCidrList(setting: string, value: unknown): string[] {
    if (!Array.isArray(value)) {
        throw new ArgError(setting, value, 'a list of CIDRs such as ["10.20.0.0/16"]');
    }
    return value.map((c, i) => checkCidr(`${setting}[${i}]`, c));
}

/** A peer with its defaults: podLabels {} (every pod), namespaceLabels undefined (the cluster's namespace). */
export function resolvePeer(given: NetworkPeerArgs, setting: string): ResolvedNetworkPeer {
    if (!isMap(given)) {
        throw new ArgError(setting, given, "a map with podLabels and/or namespaceLabels");
    }
    const known = Object.keys(NETWORK_PEER_FIELDS);
    for (const key of Object.keys(given)) {
        if (!known.includes(key)) {
            throw new ArgError(`${setting}.${key}`, (given as Record<string, unknown>)[key], `one of ${known.join(", ")}`);
        }
    }
    return {
        podLabels: checkLabels(`${setting}.podLabels`, given.podLabels ?? { ...NETWORK_PEER_FIELDS.podLabels.default }),
        namespaceLabels: given.namespaceLabels === undefined ? undefined : checkLabels(`${setting}.namespaceLabels`, given.namespaceLabels),
    };
}

export function resolvePeers(setting: string, value: unknown, emptyAllowed: string | undefined): ResolvedNetworkPeer[] {
    if (!Array.isArray(value) || (value.length === 0 && emptyAllowed === undefined)) {
        throw new ArgError(setting, value, `a ${emptyAllowed === undefined ? "non-empty " : ""}list of {podLabels, namespaceLabels} maps`);
    }
    return value.map((p, i) => resolvePeer(p as NetworkPeerArgs, `${setting}[${i}]`));
}

/** The network policy settings with their fields' defaults. */
export function resolveNetworkPolicy(given: NetworkPolicyArgs, setting: SettingNamer = argName): ResolvedNetworkPolicy {
    const d = DEFAULTS.networkPolicy;
    checkSettingsMap(setting("networkPolicy"), given, Object.keys(d), "network policy settings");
    const s = (key: keyof NetworkPolicyArgs) => setting(`networkPolicy.${key}`);
    const copy = <T>(v: T): T => structuredClone(v);
    return {
        enabled: checkBoolean(s("enabled"), given.enabled ?? d.enabled),
        // [] is allowed: only the cluster's own pods reach the database.
        allowedClients: resolvePeers(s("allowedClients"), given.allowedClients ?? copy(d.allowedClients), "nobody else"),
        dnsServers: resolvePeers(s("dnsServers"), given.dnsServers ?? copy(d.dnsServers), undefined),
        dnsPort: checkInteger(s("dnsPort"), given.dnsPort ?? d.dnsPort, 1, 65535),
        apiServerCidrs: checkCidrs(
            s("apiServerCidrs"),
            given.apiServerCidrs ?? [...d.apiServerCidrs],
            "the pods' failover manager or role-labeler needs the Kubernetes API, and the backup Jobs do",
        ),
        backupRepositoryCidrs: checkCidrs(
            s("backupRepositoryCidrs"),
            given.backupRepositoryCidrs ?? [...d.backupRepositoryCidrs],
            "where the S3 repository may be (it is used only with backups or a restore)",
        ),
        // [] is allowed (the default): no client from outside the Kubernetes cluster.
        allowedClientCidrs: checkCidrList(s("allowedClientCidrs"), given.allowedClientCidrs ?? [...d.allowedClientCidrs]),
    };
}

/** The PostgreSQL server configuration files the component renders into the config ConfigMap. */
import { ResolvedArgs } from "../../args";
import { tlsFiles } from "../../tls/files";
import { MAX_REPLICAS } from "../../limits";
import { parseQuantity } from "../../validation";
import { archiveSettings, recoverySettings } from "./backup/pgbackrest";

/**
 * Senders and slots are sized for the most replicas we support, not for the current count: on a standby
 * these settings must be at least the primary's, and changing them needs a restart, so sizing them by
 * `replicas` would restart every pod on each scale-up.
 */
const WAL_SENDERS = MAX_REPLICAS + 5;

/** OpenSSL's cipher list for TLS 1.2: ECDHE with AES-GCM or ChaCha20-Poly1305. */
export const SSL_CIPHERS = "ECDHE+AESGCM:ECDHE+CHACHA20:!aNULL:!eNULL";

/**
 * The server's TLS settings with `tls.enabled`, none without. The key file is root's with the server's group
 * and mode 0440 (a Secret volume with fsGroup), which PostgreSQL accepts for a key owned by root. A reload picks
 * up renewed files.
 */
export function tlsSettings(args: ResolvedArgs, tlsDir: string): Record<string, string> {
    if (!args.tls.enabled) {
        return {};
    }
    const files = tlsFiles(tlsDir);
    return {
        ssl: "on",
        ssl_cert_file: files.cert,
        ssl_key_file: files.key,
        ssl_ca_file: files.ca,
        ssl_min_protocol_version: "TLSv1.2",
        // TLS 1.2's suites (1.3's are all strong): forward-secret AEAD only, no anonymous, null, CBC or SHA-1 MAC.
        ssl_ciphers: SSL_CIPHERS,
    };
}

/** Settings we compute; `args.parameters` may override any of them. `tlsDir` is where the TLS Secret is mounted. */
export function serverSettings(args: ResolvedArgs, tlsDir: string): Record<string, string> {
    const settings: Record<string, string> = {
        wal_level: "replica",
        max_wal_senders: String(WAL_SENDERS),
        max_replication_slots: String(WAL_SENDERS),
        max_slot_wal_keep_size: args.maxSlotWalKeepSize,
        // Keeps a little WAL for replicas that reconnect after a short blip, even without their slot.
        wal_keep_size: "128MB",
        hot_standby: "on",
        // Stops the primary from vacuuming rows a replica's running query still reads.
        hot_standby_feedback: "on",
        // pg_rewind needs either this or data checksums; initdb turns checksums on, this covers old volumes.
        wal_log_hints: "on",
        password_encryption: "scram-sha-256",
        log_line_prefix: "%m [%p] %q%u@%d ",
        log_connections: "off",
    };
    if (args.synchronousReplicas > 0) {
        // "*": any standby counts, whatever the replica count, so that scaling does not change this file
        // (and roll every pod). The standbys' names are their slot names.
        settings.synchronous_standby_names = `ANY ${args.synchronousReplicas} (*)`;
        settings.synchronous_commit = "on";
    }
    const limit = args.resources.memoryLimit ? parseQuantity(args.resources.memoryLimit) : undefined;
    if (limit !== undefined) {
        // A quarter of the container's memory is PostgreSQL's own advice for shared_buffers.
        settings.shared_buffers = `${Math.max(16, Math.floor(limit / 4 / 2 ** 20))}MB`;
    }
    return { ...settings, ...tlsSettings(args, tlsDir), ...archiveSettings(args), ...args.parameters };
}

export function postgresqlConf(args: ResolvedArgs, tlsDir: string): string {
    const lines = Object.entries({ ...recoverySettings(args), ...serverSettings(args, tlsDir) }).map(([k, v]) => `${k} = '${v}'`);
    return [
        "# Rendered by the replicated-db component. The entrypoint adds the per-pod settings",
        "# (listen address, socket directory, primary_conninfo) on the command line.",
        ...lines,
        "",
    ].join("\n");
}

/**
 * The access rules, shared by both modes: rendered as pg_hba.conf into the config ConfigMap; the pods copy it (or
 * its gated form) to the hba_file in pod memory. With `tls.enabled` every network rule is `hostssl` and a last
 * rule refuses the rest, so that a plain-text client is told so instead of being asked for a password.
 */
export function pgHbaLines(args: ResolvedArgs, topologyLocal: string[] = []): string[] {
    const net = args.tls.enabled ? "hostssl" : "host";
    return [
        // The exporter sidecar's role logs in over the socket with its password, before the peer rule. The sidecar
        // runs under a uid of its own, so the peer rule cannot map it to the superuser either.
        ...(args.monitoring.enabled ? [`local postgres ${args.monitoring.user} scram-sha-256`] : []),
        "local all all peer",
        // The operator's page scan (bin/replicated-db-verify: a base backup to nowhere, which reads every page from
        // disk and checks its checksum) runs in the pod as the superuser: the same peer trust as the line above.
        "local replication postgres peer",
        // The topology's own socket rules (its failover manager's connections to its server).
        ...topologyLocal,
        `${net} replication ${args.replicationUser} all scram-sha-256`,
        `${net} all all all scram-sha-256`,
        // "all" never matches replication: its reject rule is written out, so that a plain replication
        // client is told it was refused for want of TLS, not that no rule names it.
        ...(args.tls.enabled ? ["hostnossl replication all all reject", "hostnossl all all all reject"] : []),
    ];
}

export function pgHbaConf(args: ResolvedArgs, topologyLocal: string[] = []): string {
    return [
        "# Rendered by the replicated-db component.",
        "# The socket lives in a pod-private emptyDir: peer authentication lets the probes and the",
        "# entrypoint in without a password, and nobody outside the pod can reach it.",
        ...pgHbaLines(args, topologyLocal),
        "",
    ].join("\n");
}

/**
 * Patroni's configuration (`failover: "patroni"`): Patroni runs in the database container and elects the
 * primary through the Kubernetes API (leader lock in a ConfigMap), labels each pod with its role for the
 * Services, promotes the most advanced healthy replica when the primary is gone, and rewinds a returning
 * old primary. Everything here is Patroni's own configuration, rendered from the same args as the
 * script-driven mode so that both modes run the same server settings.
 *
 * The file is JSON, which is YAML too: Patroni reads it as its configuration file, and the component
 * needs no YAML library at run time.
 */
import { ResolvedArgs } from "../../../../args";
import { EngineContext } from "../../../../core/engine";
import { recoverySettings, REPOSITORY_REPLICA_METHOD, repositoryReplicaCommand } from "../../backup/pgbackrest";
import { serverSettings } from "../../config";
import { TLS_DIR, tlsFiles } from "../../../../tls/files";
import { PORT } from "../../connection";
import { patroniArchiveReplicaMethod, patroniReplicationCa } from "./standby";
import { PATRONI_ROLE_LABELS } from "./roleLabels";
import { REWIND_ROLE } from "../../../../naming";
import { patroniTimingSettings } from "./timing";


/** The credentials Secret's key of the REST API's password (user `patroni`): Patroni's own, not a role's. */
export const PATRONI_API_SECRET_KEY = "patroni-api-password";
export const PATRONI_PORT = 8008;
export const PATRONI_CONFIG_FILE = "patroni.yml";
/** Patroni's dynamic settings as rendered (what `bootstrap.dcs` holds), beside patroni.yml: patroni.sh on the
 * leader applies them to a running cluster (`patronictl edit-config --apply`) when they differ. */
export const PATRONI_DYNAMIC_FILE = "patroni-dynamic.json";
/** The rendered access rules, shipped beside patroni.yml: the same file the script-driven mode renders. */
export const HBA_CONFIG_FILE = "pg_hba.conf";
/** Settings Patroni manages itself: it writes synchronous_standby_names from its synchronous mode. */
const PATRONI_MANAGED = new Set(["synchronous_standby_names", "synchronous_commit"]);

function parameters(args: ResolvedArgs, tlsDir: string): Record<string, string> {
    return Object.fromEntries(Object.entries(serverSettings(args, tlsDir)).filter(([k]) => !PATRONI_MANAGED.has(k)));
}

/**
 * Patroni's dynamic settings (cluster-wide, kept in its store): the timings of the `patroni` arg, the
 * failover's lag limit, the synchronous mode, and the server parameters.
 */
export function dynamicSettings(args: ResolvedArgs, tlsDir: string): Record<string, unknown> {
    const sync = args.synchronousReplicas > 0;
    return {
        ...patroniTimingSettings(args.patroni),
        // A replica more than 1 MB behind is never promoted: it would lose what it has not received.
        maximum_lag_on_failover: 1048576,
        // Strict: with fewer than the wanted synchronous replicas, commits wait rather than become
        // asynchronous, so that an acknowledged commit is always on a replica (as without Patroni).
        synchronous_mode: sync,
        synchronous_mode_strict: sync,
        ...(sync ? { synchronous_node_count: args.synchronousReplicas } : {}),
        postgresql: {
            use_pg_rewind: true,
            use_slots: true,
            parameters: parameters(args, tlsDir),
        },
    };
}

export function dynamicSettingsFile(ctx: EngineContext): string {
    return JSON.stringify(dynamicSettings(ctx.args, TLS_DIR), null, 2) + "\n";
}

/** Patroni's configuration for every pod; patroni.sh adds the per-pod values (name and addresses in the
 * environment, passwords in a second file in pod memory; docs/pod-contract.md). */
export function patroniConfig(ctx: EngineContext, dataDir: string, socketDir: string): Record<string, unknown> {
    const { args, names, paths, selector } = ctx;
    const scripts = paths.scripts;
    const callback = `/bin/bash ${scripts}/patroni-callback.sh`;
    const tls = args.tls.enabled ? tlsFiles(TLS_DIR) : undefined;
    // Replicas and rewinds reach the leader by its pod DNS name, which the certificate holds.
    const verify = tls ? { sslmode: "verify-full", sslrootcert: tls.ca } : {};
    // A standby cluster's replication connections also verify the source (./standby.ts).
    const verifyReplication = tls ? { ...verify, sslrootcert: patroniReplicationCa(args, paths.run, tls.ca) } : {};
    return {
        scope: names.statefulSet,
        // No top-level `namespace`: Patroni copies it over the store's own section (patroni/dcs/__init__.py
        // get_dcs), so a key-value prefix here would become the Kubernetes namespace Patroni asks the API for.
        // HTTPS with the database's certificate when TLS is on; members verify each other against its CA.
        // Its password (PATRONI_API_SECRET_KEY) is added by patroni.sh from the Secret, in pod memory.
        restapi: {
            listen: `0.0.0.0:${PATRONI_PORT}`,
            ...(tls ? { certfile: tls.cert, keyfile: tls.key, cafile: tls.ca } : {}),
        },
        ...(tls ? { ctl: { cacert: tls.ca } } : {}),
        kubernetes: {
            namespace: args.namespace,
            // Patroni finds the members by these labels plus scope_label=scope: exactly the StatefulSet's pods.
            labels: { "app.kubernetes.io/name": selector["app.kubernetes.io/name"] },
            scope_label: "app.kubernetes.io/instance",
            // The read-write and read-only Services select on this label, as in the script-driven mode (roleLabels.ts).
            ...PATRONI_ROLE_LABELS,
            // ConfigMaps hold the leader lock; the Services follow the role label, not Patroni's Endpoints.
            use_endpoints: false,
        },
        bootstrap: {
            // Taken by Patroni at the first bootstrap only; patroni.sh applies later changes of the dynamic settings
            // (PATRONI_DYNAMIC_FILE), patroni-standby.sh those of standby_cluster (PATRONI_STANDBY_FILE).
            dcs: {
                // A standby cluster's standby_cluster is not here but in its own live file (patroni-standby.sh
                // adds it at start), so that a promotion does not change this file and roll the pods.
                ...dynamicSettings(args, TLS_DIR),
            },
            // A restore (a new cluster from another's backups): restore.sh makes the data directory instead of initdb.
            ...(args.restore
                ? { method: "pgbackrest", pgbackrest: { command: `/bin/bash ${scripts}/restore.sh`, no_params: true, keep_existing_recovery_conf: false } }
                : {}),
            initdb: ["data-checksums", { encoding: "UTF8" }, "no-locale", { "auth-local": "peer" }, { "auth-host": "scram-sha-256" }],
            // Creates the application role and database before the first client can connect.
            post_bootstrap: `${callback} post_bootstrap`,
        },
        postgresql: {
            listen: `0.0.0.0:${PORT}`,
            // Patroni's own connections go through the pod-private socket with peer authentication, so a
            // kept volume with a new Secret cannot lock Patroni out of its own server.
            use_unix_socket: true,
            // Its replication connection to its own server too (pg_hba's `local replication` rule): over TCP
            // it would dial localhost with verify-full, which the certificate (pod and Service names) fails.
            use_unix_socket_repl: true,
            data_dir: dataDir,
            // The root file system is read-only: the passfile Patroni writes lives in the pod's memory.
            pgpass: `${paths.run}/patroni.pgpass`,
            authentication: {
                superuser: { username: "postgres" },
                replication: { username: args.replicationUser, ...verifyReplication },
                rewind: { username: REWIND_ROLE, ...verify },
            },
            // No pg_hba list: the server reads its access rules from a file in pod memory that patroni.sh
            // switches between the rendered rules and gated ones (a replica that is not streaming refuses
            // application connections, as in the script-driven mode). With hba_file set, Patroni writes no
            // pg_hba.conf of its own (docs/pod-contract.md, "Patroni").
            // A new replica clones at once instead of waiting for the primary's next spread checkpoint.
            basebackup: [{ checkpoint: "fast" }, ...(args.cloneMaxRate !== "" ? [{ "max-rate": args.cloneMaxRate }] : [])],
            // With backups and replicasFromRepository, a new member first restores this cluster's latest backup
            // (nothing read from the leader's disk, no checkpoint asked of it), then replays the archive and
            // streams; basebackup when the repository has no backup yet or the restore fails.
            ...patroniRepositoryReplicaMethod(args, scripts),
            // A standby cluster with the archive feed: its standby leader may be made from the source's backup.
            ...patroniArchiveReplicaMethod(args, scripts),
            parameters: { ...parameters(args, TLS_DIR), unix_socket_directories: socketDir, hba_file: `${paths.run}/pg_hba.conf` },
            // Patroni writes recovery settings itself, from here only (it ignores them among the parameters).
            ...(Object.keys(recoverySettings(args)).length ? { recovery_conf: recoverySettings(args) } : {}),
            // The Secret is the truth on every start and after every promotion (a kept volume with a new
            // Secret must not lock anyone out): the callback sets the roles' passwords on the primary.
            callbacks: { on_start: callback, on_role_change: callback },
            // Data safety: a member whose rewind fails keeps its data and waits for an operator
            // (`patronictl reinit`), instead of Patroni deleting the directory.
            remove_data_directory_on_rewind_failure: false,
            remove_data_directory_on_diverged_timelines: false,
        },
        tags: { nofailover: false, noloadbalance: false, clonefrom: args.cloneFromReplicas, nosync: false },
    };
}

export function patroniConfigFile(ctx: EngineContext, dataDir: string, socketDir: string): string {
    return JSON.stringify(patroniConfig(ctx, dataDir, socketDir), null, 2) + "\n";
}

/** `create_replica_methods` with this cluster's own repository first, and that method's settings; nothing otherwise. */
export function patroniRepositoryReplicaMethod(args: ResolvedArgs, scriptsDir: string): Record<string, unknown> {
    const command = repositoryReplicaCommand(args, scriptsDir);
    if (command === undefined) return {};
    return { create_replica_methods: [REPOSITORY_REPLICA_METHOD, "basebackup"], [REPOSITORY_REPLICA_METHOD]: { command, keep_data: false, no_leader: false } };
}

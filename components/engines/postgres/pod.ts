/**
 * What every PostgreSQL topology's database container shares: the fixed paths and the environment of
 * docs/pod-contract.md. The topologies add their own command, mode variables and probes.
 */
import { EngineContext, EnvVar } from "../../core/engine";
import { TLS_DIR, tlsFiles } from "../../tls/files";
import { PORT } from "./connection";
import { POOLER_ROLE } from "../../pooler/resolve";
import { REWIND_ROLE } from "../../naming";
import { TERMINATION_GRACE_SECONDS } from "../../limits";

export const DATA_MOUNT = "/var/lib/postgresql/data";
export const SOCKET_DIR = "/var/run/postgresql";
/** A sub directory of the volume, because a fresh volume may hold `lost+found`. */
export const PGDATA = `${DATA_MOUNT}/pgdata`;
export const CONTAINER_NAME = "postgres";

export const field = (fieldPath: string) => ({ valueFrom: { fieldRef: { fieldPath } } });

/** The environment every topology shares, with the topology's own variables in the middle. */
export function baseEnv(ctx: EngineContext, modeEnv: EnvVar[]): EnvVar[] {
    const { args, names, paths } = ctx;
    return [
        { name: "POD_NAME", ...field("metadata.name") },
        { name: "POD_NAMESPACE", ...field("metadata.namespace") },
        { name: "PGDATA", value: PGDATA },
        { name: "PGPORT", value: String(PORT) },
        { name: "RDB_SCRIPTS_DIR", value: paths.scripts },
        { name: "RDB_CONFIG_DIR", value: paths.config },
        { name: "RDB_SECRET_DIR", value: paths.secret },
        { name: "RDB_RUN_DIR", value: paths.run },
        { name: "RDB_SOCKET_DIR", value: SOCKET_DIR },
        // The CA the scripts' connections to other pods verify against (sslmode=verify-full); "" with TLS off.
        { name: "RDB_TLS_CA", value: args.tls.enabled ? tlsFiles(TLS_DIR).ca : "" },
        { name: "RDB_CLUSTER", value: names.statefulSet },
        // The scripts bound a stop within the grace period the kubelet gives the container (server.sh, patroni.sh).
        { name: "RDB_TERMINATION_GRACE_SECONDS", value: String(TERMINATION_GRACE_SECONDS) },
        // Pod DNS names are "<cluster>-<ordinal>" + this: the scripts reach other pods by name through the
        // headless Service, never by IP.
        { name: "RDB_POD_DNS_SUFFIX", value: names.podHost(0).slice(`${names.pod(0)}`.length) },
        ...modeEnv,
        { name: "RDB_SUPERUSER", value: "postgres" },
        { name: "RDB_REPLICATION_USER", value: args.replicationUser },
        { name: "RDB_REWIND_USER", value: REWIND_ROLE },
        { name: "RDB_APP_USER", value: args.appUser },
        { name: "RDB_APP_DATABASE", value: args.appDatabase },
        // pg_basebackup's --max-rate for a replica's clone; "" for none. Only when set, so that a cluster without
        // one renders (and rolls) as before.
        ...(args.cloneMaxRate !== "" ? [{ name: "RDB_CLONE_MAX_RATE", value: args.cloneMaxRate }] : []),
        // Only with the pooler on, so that a cluster without one renders (and rolls) exactly as before.
        ...(args.pooler.enabled ? [{ name: "RDB_POOLER_USER", value: POOLER_ROLE }] : []),
        // The exporter's role (member of pg_monitor, password `monitoring-password`); "" with monitoring off.
        { name: "RDB_MONITORING_USER", value: args.monitoring.enabled ? args.monitoring.user : "" },
    ];
}

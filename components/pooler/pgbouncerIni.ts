/**
 * PgBouncer's configuration file for one pooled Service (README, "Connection pooler"). Pure: the resolved args
 * and the names in, the text out.
 *
 * - One database entry, the application database, at the Service's DNS name: PgBouncer passes nothing else on.
 * - Clients log in with their own role and password. PgBouncer asks the server for the role's SCRAM secret
 *   with `auth_query`, logged in as the pooler role, whose password alone is in `auth_file` (written into pod
 *   memory from the Secret by pooler.sh); it then logs the client in to the server with the keys of the
 *   client's own SCRAM exchange. So no password list leaves the database.
 * - With TLS on: clients must use TLS (the server certificate, valid for the pooler Services' names too), and
 *   PgBouncer verifies the server it dials against the CA (verify-full).
 */
import type { ResolvedArgs } from "../args";
import type { Names, PooledService } from "../naming";
import { POOLER_ROLE } from "./resolve";
import { upstreamService } from "./services";

/** The port the pooler listens on and its Service serves: the database's, so that only the host changes. */
export const POOLER_PORT = 5432;
/** The schema and function, in the application database, that hand PgBouncer a role's SCRAM secret. */
export const AUTH_SCHEMA = "pooler";
export const AUTH_FUNCTION = `${AUTH_SCHEMA}.user_secret`;

export interface PoolerPaths {
    /** Where pooler.sh writes the auth_file (pod memory). */
    run: string;
    /** The mounted TLS Secret's directory (tls.crt, tls.key, ca.crt). */
    tls: string;
}

/** What the pooler's server connections check before reuse after `server_check_delay` idle seconds. */
export function serverCheckQuery(service: PooledService): string {
    // A read-write pool must never hand out a connection that ended up on a demoted primary: on a standby
    // this divides by zero, the check fails and PgBouncer closes that connection instead of reusing it.
    return service === "rw" ? "SELECT 1 / (NOT pg_catalog.pg_is_in_recovery())::int" : "SELECT 1";
}

export function pgbouncerIni(args: ResolvedArgs, names: Names, service: PooledService, port: number, paths: PoolerPaths): string {
    const p = args.pooler;
    const host = names.serviceHost(upstreamService(names, service));
    const db = args.appDatabase;
    const tls = args.tls.enabled
        ? [
              "; TLS to clients with the cluster's certificate (valid for this pooler's Service names), required.",
              "client_tls_sslmode = require",
              `client_tls_cert_file = ${paths.tls}/tls.crt`,
              `client_tls_key_file = ${paths.tls}/tls.key`,
              "; TLS to the servers, which must prove they are the Service dialled (the cluster's CA).",
              "server_tls_sslmode = verify-full",
              `server_tls_ca_file = ${paths.tls}/ca.crt`,
          ]
        : [];
    return [
        `; Rendered by the replicated-db component: the pooler in front of ${host}.`,
        "[databases]",
        `${db} = host=${host} port=${port} dbname=${db}`,
        "",
        "[pgbouncer]",
        "listen_addr = *",
        `listen_port = ${POOLER_PORT}`,
        "; No Unix socket: the root file system is read-only and nothing in the pod needs one.",
        "unix_socket_dir =",
        "auth_type = scram-sha-256",
        `auth_file = ${paths.run}/userlist.txt`,
        `auth_user = ${POOLER_ROLE}`,
        `auth_query = SELECT usename, passwd FROM ${AUTH_FUNCTION}($1)`,
        `pool_mode = ${p.poolMode}`,
        `default_pool_size = ${p.defaultPoolSize}`,
        `max_client_conn = ${p.maxClientConnections}`,
        "; pgjdbc sends extra_float_digits at start-up, which PgBouncer would otherwise refuse.",
        "ignore_startup_parameters = extra_float_digits",
        "; After a failed login to the server (a switchover), retry after 1 s rather than PgBouncer's 15 s.",
        "server_login_retry = 1",
        "server_connect_timeout = 5",
        "server_check_delay = 10",
        `server_check_query = ${serverCheckQuery(service)}`,
        "; A client that waits this long for a server connection gets an error instead of hanging.",
        "query_wait_timeout = 30",
        ...tls,
        "",
    ].join("\n");
}

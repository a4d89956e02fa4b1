/**
 * The PostgreSQL engine: the official `postgres` image (or one built from it), streaming replication from
 * one primary to every other pod. Who decides the primary is the topology's business: `manual` (the
 * config's `primaryOrdinal`, our own scripts) or `patroni` (./topologies/).
 */
import { ArgError, SettingNamer } from "../../validation";
import { ResolvedArgs } from "../../args";
import { Engine } from "../../core/engine";
import { backup } from "./backup/pgbackrest";
import { PORT, connection } from "./connection";
import { DATA_MOUNT, SOCKET_DIR } from "./pod";
import { manual } from "./topologies/manual";
import { patroni } from "./topologies/patroni";

/** The majors whose behaviour the scripts rely on (PG 14 brought target_session_attrs=standby to libpq). */
export const SUPPORTED_MAJORS = [14, 15, 16, 17, 18];

/** The major version in an image tag ("postgres:17.6-bookworm" -> 17), or undefined. */
export function imageMajor(image: string): number | undefined {
    const ref = image.split("@")[0];
    const colon = ref.lastIndexOf(":");
    if (colon <= ref.lastIndexOf("/")) {
        return undefined;
    }
    const m = /^([0-9]+)(?:[.-]|$)/.exec(ref.slice(colon + 1));
    return m ? Number(m[1]) : undefined;
}

/**
 * Server parameters the component sets or relies on for its promises: TLS (the server's certificate, the protocol
 * floor, the ciphers), authentication (password hashing, the access rules), and the files and socket it
 * manages. `parameters` may set them only with `allowUnsafeParameters`.
 */
export const UNSAFE_PARAMETERS = [
    "ssl", "ssl_min_protocol_version", "ssl_max_protocol_version", "ssl_ciphers", "ssl_prefer_server_ciphers",
    "ssl_ecdh_curve", "ssl_groups", "ssl_tls13_ciphers", "ssl_cert_file", "ssl_key_file", "ssl_ca_file", "ssl_crl_file",
    "ssl_crl_dir", "ssl_dh_params_file", "ssl_passphrase_command", "ssl_passphrase_command_supports_reload",
    "password_encryption", "scram_iterations", "krb_server_keyfile", "krb_caseins_users", "db_user_namespace",
    "hba_file", "ident_file", "config_file", "data_directory", "external_pid_file", "listen_addresses", "port",
    "unix_socket_directories", "unix_socket_group", "unix_socket_permissions",
];

function validate(args: ResolvedArgs, setting: SettingNamer): void {
    if (!args.allowUnsafeParameters) {
        const unsafe = Object.keys(args.parameters).find((name) => UNSAFE_PARAMETERS.includes(name));
        if (unsafe !== undefined) {
            throw new ArgError(
                setting(`parameters.${unsafe}`),
                args.parameters[unsafe],
                `no value: ${unsafe} is the component's (TLS, authentication or its files; docs/security.md, "Server parameters"); ` +
                    `set ${setting("allowUnsafeParameters")} to true to override it anyway`,
            );
        }
    }
    const major = imageMajor(args.image);
    if (major === undefined || !SUPPORTED_MAJORS.includes(major)) {
        throw new ArgError(
            setting("image"),
            args.image,
            `a PostgreSQL image whose tag starts with a supported major version (${SUPPORTED_MAJORS.join(", ")}), ` +
                "such as \"postgres:17.6\"; a floating tag like \"latest\" could change the major version under a running cluster",
        );
    }
}

export const postgresql: Engine = {
    name: "postgresql",
    defaultImage: "docker.io/library/postgres:17.6-bookworm",
    port: PORT,
    portName: "postgresql",
    dataMountPath: DATA_MOUNT,
    uid: 999,
    majorVersion: imageMajor,
    validate,
    topologies: { [manual.name]: manual, [patroni.name]: patroni },
    // The socket directory holds a socket and its lock file. /tmp holds pgBackRest's lock and spool: status files
    // of the asynchronous archive-push, and the segments archive-get fetches ahead (128 MiB by default).
    scratchVolumes: () => ({ socket: { mountPath: SOCKET_DIR, sizeLimit: "16Mi" }, tmp: { mountPath: "/tmp", sizeLimit: "1Gi" } }),
    backup,
    connection,
};

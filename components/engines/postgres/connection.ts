/**
 * PostgreSQL connection strings: libpq URIs and JDBC URLs for the application user.
 *
 * The Service strings (one host) suit every client, node-postgres included. The multi-host ones list the
 * pods themselves and let the driver check each server's role when it connects (libpq's
 * `target_session_attrs`, pgjdbc's `targetServerType`): during a switchover, while the read-write Service
 * may still point at the old primary, they skip it at connect time instead of failing at the first write.
 * Only drivers that parse multi-host URIs can use them (libpq and its wrappers, pgjdbc; not node-postgres).
 *
 * With `tls.enabled` every string asks for `sslmode=verify-full` (JDBC: `ssl=true&sslmode=verify-full`): the
 * driver refuses a server whose certificate is not signed by the CA or not valid for the host it dialled. The
 * CA's file is the client's to give (libpq: `sslrootcert` or PGSSLROOTCERT; pgjdbc: `sslrootcert`; README,
 * "Encryption in transit"), so no path is written here.
 */
import * as pulumi from "@pulumi/pulumi";
import { Connection, EngineContext } from "../../core/engine";

export const PORT = 5432;

export function connection(ctx: EngineContext, password: pulumi.Output<string>): Connection {
    const { args, names, plan } = ctx;
    const user = encodeURIComponent(args.appUser);
    const db = args.appDatabase;
    const rw = `${names.serviceHost(names.readWriteService)}:${PORT}`;
    const ro = `${names.serviceHost(names.readOnlyService)}:${PORT}`;
    const hostList = (pods: { host: string }[]) => pods.map((p) => `${p.host}:${PORT}`).join(",");
    // The configured primary first: the driver tries the hosts in order, so the usual case takes one attempt.
    const writeHosts = hostList(plan.primaryFirst);
    // With no replica there is no standby to land on: fall back to the primary rather than fail.
    const hasReplicas = plan.replicas.length > 0;
    const readHosts = hostList(hasReplicas ? plan.replicas : [plan.primary]);
    const libpqRead = hasReplicas ? "standby" : "prefer-standby";
    const jdbcRead = hasReplicas ? "secondary" : "preferSecondary";

    // Query parameters: the role ones first, then TLS's; joined with "?" only when there are any.
    const tls = args.tls.enabled;
    const query = (...params: string[]) => {
        const all = [...params, ...(tls ? ["sslmode=verify-full"] : [])];
        return all.length ? `?${all.join("&")}` : "";
    };
    const jdbcTls = tls ? "&ssl=true&sslmode=verify-full" : "";
    const secret = (f: (pw: string) => string) => pulumi.secret(password.apply((pw) => f(encodeURIComponent(pw))));
    return {
        writeUri: secret((pw) => `postgresql://${user}:${pw}@${rw}/${db}${query()}`),
        readUri: secret((pw) => `postgresql://${user}:${pw}@${ro}/${db}${query()}`),
        writeMultiHostUri: secret((pw) => `postgresql://${user}:${pw}@${writeHosts}/${db}${query("target_session_attrs=read-write")}`),
        readMultiHostUri: secret((pw) => `postgresql://${user}:${pw}@${readHosts}/${db}${query(`target_session_attrs=${libpqRead}`)}`),
        jdbcWriteUrl: secret((pw) => `jdbc:postgresql://${rw}/${db}?user=${user}&password=${pw}${jdbcTls}`),
        jdbcWriteMultiHostUrl: secret((pw) => `jdbc:postgresql://${writeHosts}/${db}?targetServerType=primary&user=${user}&password=${pw}${jdbcTls}`),
        jdbcReadUrl: secret(
            (pw) => `jdbc:postgresql://${readHosts}/${db}?targetServerType=${jdbcRead}&loadBalanceHosts=true&user=${user}&password=${pw}${jdbcTls}`,
        ),
    };
}

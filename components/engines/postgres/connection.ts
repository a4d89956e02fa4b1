/** PostgreSQL connection strings: libpq URIs and JDBC URLs for the application user. */
import * as pulumi from "@pulumi/pulumi";
import { Connection, EngineContext } from "../engine";

export const PORT = 5432;

export function connection(ctx: EngineContext, password: pulumi.Output<string>): Connection {
    const { args, names } = ctx;
    const user = encodeURIComponent(args.appUser);
    const db = args.appDatabase;
    const rw = `${names.serviceHost(names.readWriteService)}:${PORT}`;
    const ro = `${names.serviceHost(names.readOnlyService)}:${PORT}`;
    const replicaOrdinals = Array.from({ length: args.replicas + 1 }, (_, i) => i).filter((i) => i !== args.primaryOrdinal);
    // With no replica there is no standby to land on: fall back to the primary rather than fail.
    const readHosts = (replicaOrdinals.length ? replicaOrdinals : [0]).map((i) => `${names.podHost(i)}:${PORT}`).join(",");
    const libpqTarget = replicaOrdinals.length ? "standby" : "prefer-standby";
    const jdbcTarget = replicaOrdinals.length ? "secondary" : "preferSecondary";

    const secret = (f: (pw: string) => string) => pulumi.secret(password.apply((pw) => f(encodeURIComponent(pw))));
    return {
        writeUri: secret((pw) => `postgresql://${user}:${pw}@${rw}/${db}`),
        readUri: secret((pw) => `postgresql://${user}:${pw}@${ro}/${db}`),
        readMultiHostUri: secret((pw) => `postgresql://${user}:${pw}@${readHosts}/${db}?target_session_attrs=${libpqTarget}`),
        jdbcWriteUrl: secret((pw) => `jdbc:postgresql://${rw}/${db}?user=${user}&password=${pw}`),
        jdbcReadUrl: secret(
            (pw) => `jdbc:postgresql://${readHosts}/${db}?targetServerType=${jdbcTarget}&loadBalanceHosts=true&user=${user}&password=${pw}`,
        ),
    };
}

/**
 * The one list of the component's outputs: name, whether it is a secret, and what it is. The class
 * publishes (and registers) exactly these, wrapping the secret ones with `pulumi.secret`; the program
 * exports them all; the render CLI prints them. tests/unit/outputs.test.ts holds the class's declared
 * fields, the program's exports and the "Stack outputs" table of docs/configuration.md (written from this list by scripts/gen-docs.ts) to this list.
 */
import * as pulumi from "@pulumi/pulumi";

export interface OutputSpec {
    /** Carries a password: a Pulumi secret in state and in `pulumi stack output`. */
    readonly secret: boolean;
    /** The "what" column of docs/configuration.md. */
    readonly description: string;
}

/** In the order of docs/configuration.md's table. */
export const OUTPUTS = {
    primaryHost: { secret: false, description: "the read-write Service's DNS name (`db-rw.<ns>.svc.cluster.local`): it reaches the primary only" },
    readOnlyHost: { secret: false, description: "the read-only Service's DNS name: it reaches the ready replicas only" },
    port: { secret: false, description: "the port of both Services and of every pod (`5432`)" },
    podHosts: { secret: false, description: "every pod's DNS name through the headless Service, ordinal 0 first" },
    namespace: { secret: false, description: "the namespace everything lives in" },
    statefulSetName: { secret: false, description: "the StatefulSet's fixed name" },
    secretName: { secret: false, description: "the name of the Secret that holds the passwords" },
    appUser: { secret: false, description: "the application role" },
    appDatabase: { secret: false, description: "the application database" },
    appPassword: { secret: true, description: "the application role's password" },
    writeConnectionString: { secret: true, description: "libpq URI through the read-write Service: `postgresql://app:…@db-rw…:5432/app`" },
    readConnectionString: { secret: true, description: "the same through the read-only Service (`db-ro`)" },
    writeMultiHostConnectionString: {
        secret: true,
        description: "libpq multi-host URI over every pod's DNS name (the configured primary first) with `target_session_attrs=read-write`",
    },
    readMultiHostConnectionString: {
        secret: true,
        description: "libpq multi-host URI over the replicas' pod names with `target_session_attrs=standby` (`prefer-standby` with 0 replicas)",
    },
    jdbcWriteUrl: { secret: true, description: "JDBC URL through the read-write Service" },
    jdbcWriteMultiHostUrl: { secret: true, description: "JDBC URL over every pod's DNS name with `targetServerType=primary`" },
    jdbcReadUrl: {
        secret: true,
        description: "JDBC URL over the replicas' pod names with `targetServerType=secondary&loadBalanceHosts=true` (`preferSecondary` with 0 replicas)",
    },
    caCertificate: {
        secret: false,
        description:
            "the CA certificate (PEM) the servers' certificate is signed by, for clients' `sslrootcert`; empty with `tls.enabled` false or `tls.source: certManager` (the issuer's CA)",
    },
    backupRepository: {
        secret: false,
        description: "where the backups go: `s3://<bucket><path> (endpoint <host>)` or `pvc://<claim><path>`, no credentials; empty with backups off",
    },
    backupStanza: { secret: false, description: "this cluster's pgBackRest stanza (`<namespace>-<clusterName>`), what a restore's `fromClusterName` names; empty with backups off" },
    pooledWriteConnectionString: {
        secret: true,
        description: "libpq URI through the read-write pooler's Service (`db-pooler-rw`, `sslmode=verify-full` with TLS on); empty without `pooler.enabled` and `pooler.readWrite`",
    },
    pooledReadConnectionString: {
        secret: true,
        description: "the same through the read-only pooler's Service (`db-pooler-ro`); empty without `pooler.enabled` and `pooler.readOnly`",
    },
} as const satisfies Record<string, OutputSpec>;

export type OutputName = keyof typeof OUTPUTS;
export const OUTPUT_NAMES = Object.keys(OUTPUTS) as OutputName[];

/** The outputs as the class publishes them: every value an Output, the secret ones wrapped as secrets. */
export type Published<T extends Record<OutputName, pulumi.Input<unknown>>> = { [K in OutputName]: pulumi.Output<pulumi.Unwrap<T[K]>> };

/**
 * Wraps each value as the list says. The parameter type asks for exactly the listed names, so a value
 * missing here, or one the list does not know, fails to compile.
 */
export function publishOutputs<T extends Record<OutputName, pulumi.Input<unknown>>>(
    values: T & Record<Exclude<keyof T, OutputName>, never>,
): Published<T> {
    const given: Record<OutputName, pulumi.Input<unknown>> = values;
    const published = OUTPUT_NAMES.map((name) => [name, OUTPUTS[name].secret ? pulumi.secret(given[name]) : pulumi.output(given[name])]);
    return Object.fromEntries(published) as unknown as Published<T>;
}

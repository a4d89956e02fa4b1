/**
 * The pooled connection strings: the application role through a pooler's Service, as the Service strings are
 * (components/engines/postgres/connection.ts), with `sslmode=verify-full` when TLS is on. "" for a Service
 * without a pooler. Pure apart from the secret wrapping.
 */
import * as pulumi from "@pulumi/pulumi";
import type { ResolvedArgs } from "../args";
import type { Names, PooledService } from "../naming";
import { POOLER_PORT } from "./pgbouncerIni";
import { pooledServices } from "./services";

export function pooledUri(args: ResolvedArgs, names: Names, service: PooledService, password: string): string {
    if (!pooledServices(args).includes(service)) return "";
    const query = args.tls.enabled ? "?sslmode=verify-full" : "";
    const host = names.serviceHost(names.pooler(service));
    return `postgresql://${encodeURIComponent(args.appUser)}:${encodeURIComponent(password)}@${host}:${POOLER_PORT}/${args.appDatabase}${query}`;
}

export function pooledConnections(args: ResolvedArgs, names: Names, password: pulumi.Output<string>): { write: pulumi.Output<string>; read: pulumi.Output<string> } {
    const uri = (service: PooledService) => pulumi.secret(password.apply((pw) => pooledUri(args, names, service, pw)));
    return { write: uri("rw"), read: uri("ro") };
}

/** Which Services get a pooler, and the pooler's Service names. Pure. */
import type { ResolvedArgs } from "../args";
import type { Names, PooledService } from "../naming";

/** The pooled Services, read-write first; none with the pooler off. */
export function pooledServices(args: Pick<ResolvedArgs, "pooler">): PooledService[] {
    const p = args.pooler;
    if (!p.enabled) return [];
    return [...(p.readWrite ? (["rw"] as const) : []), ...(p.readOnly ? (["ro"] as const) : [])];
}

/** The Service each pooler connects to, by its name in the Names. */
export function upstreamService(names: Names, service: PooledService): string {
    return service === "rw" ? names.readWriteService : names.readOnlyService;
}

/** The pooler Services' names, which the server certificate must carry too (clients verify-full them). */
export function poolerServiceNames(args: Pick<ResolvedArgs, "pooler">, names: Names): string[] {
    return pooledServices(args).map((s) => names.pooler(s));
}

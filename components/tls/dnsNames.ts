/** The names a server certificate must be valid for: what clients, replicas and Patroni members connect to. Pure. */
import type { ClusterPlan } from "../plan";

/**
 * Every pod's DNS name through the headless Service (what replication, `pg_rewind`, Patroni and the multi-host
 * strings use), then each Service (headless, read-write, read-only) short (`<svc>`, from the same namespace),
 * namespaced (`<svc>.<ns>`, `<svc>.<ns>.svc`) and fully qualified. No IP address: pod IPs change.
 * `extraServices`: the pooler's Services (components/pooler), whose pods serve the same certificate.
 */
export function certificateDnsNames(plan: ClusterPlan, namespace: string, clusterDomain: string, extraServices: string[] = []): string[] {
    const { names } = plan;
    const services = [names.headlessService, names.readWriteService, names.readOnlyService, ...extraServices];
    return [
        ...plan.pods.map((p) => p.host),
        ...services.flatMap((svc) => [svc, `${svc}.${namespace}`, `${svc}.${namespace}.svc`, `${svc}.${namespace}.svc.${clusterDomain}`]),
    ];
}

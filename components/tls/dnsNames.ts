/** The names a server certificate must be valid for: what clients, replicas and Patroni members connect to. Pure. */
import type { ClusterPlan } from "../plan";

/**
 * Every pod's DNS name through the headless Service (what replication, `pg_rewind`, Patroni and the multi-host
 * strings use), then each Service (headless, read-write, read-only; the pooler has a certificate of its own)
 * short (`<svc>`, from the same namespace), namespaced (`<svc>.<ns>`,
 * `<svc>.<ns>.svc`) and fully qualified, then `extra` (`tls.extraDnsNames`: names dialled from outside the
 * cluster, such as a standby cluster's). No IP address: pod IPs change.
 */
/** A Service's names as clients in the cluster dial it: short, namespaced, `.svc` and fully qualified. */
export function serviceDnsNames(service: string, namespace: string, clusterDomain: string): string[] {
    return [service, `${service}.${namespace}`, `${service}.${namespace}.svc`, `${service}.${namespace}.svc.${clusterDomain}`];
}

export function certificateDnsNames(
    plan: ClusterPlan,
    namespace: string,
    clusterDomain: string,
    extra: readonly string[] = [],
): string[] {
    const { names } = plan;
    const services = [names.headlessService, names.readWriteService, names.readOnlyService];
    // A name given twice is carried once.
    return [
        ...new Set([
            ...plan.pods.map((p) => p.host),
            ...services.flatMap((svc) => serviceDnsNames(svc, namespace, clusterDomain)),
            ...extra,
        ]),
    ];
}

/**
 * Data-safety and security rules for stacks that use the ReplicatedDatabase component. Pure definitions, so
 * that tests call them directly; index.ts puts them into a PolicyPack.
 */
import * as pulumi from "@pulumi/pulumi";
import { ReportViolation, ResourceValidationArgs, ResourceValidationPolicy, StackValidationArgs, StackValidationPolicy } from "@pulumi/policy";

const STATEFULSET = "kubernetes:apps/v1:StatefulSet";
const PV = "kubernetes:core/v1:PersistentVolume";
const STORAGECLASS = "kubernetes:storage.k8s.io/v1:StorageClass";
const CONFIGMAP = "kubernetes:core/v1:ConfigMap";
const CRONJOB = "kubernetes:batch/v1:CronJob";
const SECRET_NAME = /pass(word)?|secret|token|credential/i;
/** Names that point at where a secret is (a mounted file or directory), not the secret itself. */
const SECRET_LOCATION = /_(DIR|FILE|PATH)$/i;

/** Only objects of our component: its recommended label says so. */
function ours(props: Record<string, any>): boolean {
    return props?.metadata?.labels?.["app.kubernetes.io/part-of"] === "replicated-db";
}

function podSpec(args: ResourceValidationArgs): any {
    return args.type === STATEFULSET && ours(args.props) ? args.props.spec?.template?.spec : undefined;
}

export const volumesRetained: ResourceValidationPolicy = {
    name: "replicated-db-volumes-retained",
    description: "Volumes holding database data are kept when claims, StatefulSets or stacks go away.",
    enforcementLevel: "mandatory",
    validateResource: (args: ResourceValidationArgs, report: ReportViolation) => {
        const p = args.props;
        if (!ours(p)) return;
        if (args.type === STATEFULSET) {
            const policy = p.spec?.persistentVolumeClaimRetentionPolicy ?? {};
            if (policy.whenDeleted !== "Retain" || policy.whenScaled !== "Retain") {
                report(`StatefulSet ${p.metadata?.name}: persistentVolumeClaimRetentionPolicy must be Retain for whenDeleted and whenScaled (got ${JSON.stringify(policy)})`);
            }
        }
        if (args.type === PV && p.spec?.persistentVolumeReclaimPolicy !== "Retain") {
            report(`PersistentVolume ${p.metadata?.name}: persistentVolumeReclaimPolicy must be Retain (got ${p.spec?.persistentVolumeReclaimPolicy})`);
        }
        if (args.type === STORAGECLASS && p.reclaimPolicy !== "Retain") {
            report(`StorageClass ${p.metadata?.name}: reclaimPolicy must be Retain (got ${p.reclaimPolicy ?? "Delete, the default"})`);
        }
    },
};

export const noPlainTextPasswords: ResourceValidationPolicy = {
    name: "replicated-db-no-plain-text-passwords",
    description: "Passwords reach pods from Secrets only: never as literal env values or in ConfigMaps.",
    enforcementLevel: "mandatory",
    validateResource: (args: ResourceValidationArgs, report: ReportViolation) => {
        const spec = podSpec(args);
        for (const c of [...(spec?.initContainers ?? []), ...(spec?.containers ?? [])]) {
            for (const e of c.env ?? []) {
                if (SECRET_NAME.test(e.name) && !SECRET_LOCATION.test(e.name) && e.value !== undefined) {
                    report(`container ${c.name}: env ${e.name} carries a literal value; take it from a Secret (valueFrom.secretKeyRef)`);
                }
            }
        }
        if (args.type === CONFIGMAP && ours(args.props)) {
            for (const key of Object.keys(args.props.data ?? {})) {
                if (SECRET_NAME.test(key)) {
                    report(`ConfigMap ${args.props.metadata?.name}: key ${key} looks like a secret; put it in a Secret`);
                }
            }
        }
    },
};

/** The one exception: hostPath volumes need a root `chown` with CHOWN alone (see components/storage/pod.ts). */
function isVolumeOwner(c: any): boolean {
    const caps = c.securityContext?.capabilities;
    return c.name === "volume-owner" && c.command?.[0] === "chown" && JSON.stringify(caps?.add ?? []) === JSON.stringify(["CHOWN"]);
}

export const restrictedPods: ResourceValidationPolicy = {
    name: "replicated-db-restricted-pods",
    description: "Database pods meet the restricted Pod Security level: non-root, no privilege escalation, all capabilities dropped, RuntimeDefault seccomp.",
    enforcementLevel: "mandatory",
    validateResource: (args: ResourceValidationArgs, report: ReportViolation) => {
        const spec = podSpec(args);
        if (!spec) return;
        const pod = spec.securityContext ?? {};
        if (pod.runAsNonRoot !== true) report("pod securityContext.runAsNonRoot must be true");
        if (pod.seccompProfile?.type !== "RuntimeDefault") report("pod securityContext.seccompProfile must be RuntimeDefault");
        for (const c of [...(spec.initContainers ?? []), ...spec.containers]) {
            const sc = c.securityContext ?? {};
            if (sc.allowPrivilegeEscalation !== false) report(`container ${c.name}: allowPrivilegeEscalation must be false`);
            if (!(sc.capabilities?.drop ?? []).includes("ALL")) report(`container ${c.name}: capabilities must drop ALL`);
            if (isVolumeOwner(c)) continue;
            if ((sc.capabilities?.add ?? []).length > 0) report(`container ${c.name}: adds capabilities ${sc.capabilities.add.join(", ")}`);
            if (sc.runAsNonRoot === false || sc.runAsUser === 0) report(`container ${c.name}: must not run as root`);
        }
    },
};

/**
 * Policy config `production: true` (set where the pack is applied to production stacks) asks for at least
 * one replica: a primary alone loses everything written since the last backup with its volume.
 */
export const replicaInProduction: ResourceValidationPolicy = {
    name: "replicated-db-replica-in-production",
    description: "A production stack runs at least one replica beside the primary.",
    enforcementLevel: "mandatory",
    configSchema: { properties: { production: { type: "boolean", default: false } } },
    validateResource: (args: ResourceValidationArgs, report: ReportViolation) => {
        const { production } = args.getConfig<{ production: boolean }>();
        if (!production || args.type !== STATEFULSET || !ours(args.props)) return;
        const pods = args.props.spec?.replicas ?? 1;
        if (pods < 2) {
            report(`StatefulSet ${args.props.metadata?.name} runs ${pods} pod(s) in a production stack: set replicas to at least 1 (2 pods)`);
        }
    },
};

/**
 * Stack names that count as production for backupsInProduction, case-insensitively: `prod` or `production`
 * as the whole name or as one of its `-`, `_` or `.` separated parts (`prod`, `production`, `eu-prod`,
 * `prod.us`; not `product-demo`).
 */
export const DEFAULT_PRODUCTION_STACKS = "(^|[-_.])(prod|production)($|[-_.])";

/**
 * Every cluster of a production stack backs itself up: each StatefulSet of the component has, in its
 * namespace and of its instance, the full-backup CronJob the component renders with `backup.enabled`, and
 * that CronJob is not suspended. Replicas replay a `DROP TABLE` within milliseconds; only a backup and the
 * archived WAL bring the data back.
 *
 * Production is decided by the stack's name (policy config `productionStacks`, a regular expression matched
 * case-insensitively, DEFAULT_PRODUCTION_STACKS by default), which the engine gives the pack's process
 * (`pulumi.getStack()` works in a policy pack since @pulumi/policy 0.4), so that one pack can be applied
 * to every stack of an organization. `stackName` is for tests; the pack uses the default.
 */
export function backupsInProductionFor(stackName: () => string): StackValidationPolicy {
    return {
        name: "replicated-db-backups-in-production",
        description: "A production stack backs up every ReplicatedDatabase: each has its full-backup CronJob, not suspended.",
        enforcementLevel: "mandatory",
        configSchema: { properties: { productionStacks: { type: "string", default: DEFAULT_PRODUCTION_STACKS } } },
        validateStack: (args: StackValidationArgs, report: ReportViolation) => {
            // The engine fills in the schema's default; the pack's own getConfig returns {} without config.
            const productionStacks = args.getConfig<{ productionStacks?: string }>().productionStacks ?? DEFAULT_PRODUCTION_STACKS;
            let production: RegExp;
            try {
                production = new RegExp(productionStacks, "i");
            } catch (e) {
                report(`policy config productionStacks: ${JSON.stringify(productionStacks)} is not a regular expression (${(e as Error).message}); allowed: a JavaScript regular expression such as ${JSON.stringify(DEFAULT_PRODUCTION_STACKS)}`);
                return;
            }
            const stack = stackName();
            if (!production.test(stack)) {
                args.notApplicable(`stack ${stack} does not match productionStacks ${productionStacks}`);
            }
            const key = (p: Record<string, any>) => `${p.metadata?.namespace ?? ""}/${p.metadata?.labels?.["app.kubernetes.io/instance"]}`;
            const backups = new Map<string, Record<string, any>>();
            for (const r of args.resources) {
                if (r.type === CRONJOB && ours(r.props) && r.props.metadata?.labels?.["app.kubernetes.io/component"] === "backup-full") {
                    backups.set(key(r.props), r.props);
                }
            }
            for (const r of args.resources) {
                if (r.type !== STATEFULSET || !ours(r.props)) continue;
                const cluster = r.props.metadata?.labels?.["app.kubernetes.io/instance"];
                const where = `ReplicatedDatabase ${cluster} (StatefulSet ${r.props.metadata?.namespace}/${r.props.metadata?.name}) in production stack ${stack}`;
                const backup = backups.get(key(r.props));
                if (!backup) {
                    report(`${where} has no full-backup CronJob: set backup.enabled: true (with a repository) on this cluster`, r.urn);
                } else if (backup.spec?.suspend === true) {
                    report(`${where}: its full-backup CronJob ${backup.metadata?.name} is suspended; unsuspend it (spec.suspend: false)`, r.urn);
                }
            }
        },
    };
}

export const backupsInProduction: StackValidationPolicy = backupsInProductionFor(() => pulumi.getStack());

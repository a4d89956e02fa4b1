/**
 * The passwords and the Secret that holds them. Generated with @pulumi/random (secret in state) unless the
 * user names an existing Secret; either way the pods read them as files from that Secret.
 */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { BACKUP_SECRET_KEY, MONITORING_SECRET_KEY, POOLER_SECRET_KEY, SECRET_KEYS } from "../naming";
import { BuildContext } from "../core/context";

export interface Credentials {
    /** The Secret we created; undefined when the user brought one. */
    secret?: k8s.core.v1.Secret;
    appPassword: pulumi.Output<string>;
}

export function createCredentials(ctx: BuildContext): Credentials {
    const { args, names, parent } = ctx;
    if (args.existingSecretName) {
        const existing = k8s.core.v1.Secret.get(`${ctx.name}-existing-secret`, `${args.namespace}/${args.existingSecretName}`, { parent });
        const appPassword = pulumi.secret(
            existing.data.apply((data) => {
                const value = data?.[SECRET_KEYS.app];
                if (!value) {
                    throw new Error(`Secret ${args.namespace}/${args.existingSecretName} has no key "${SECRET_KEYS.app}"`);
                }
                // The pods mount it (monitoring.enabled): without it they would not start.
                if (args.monitoring.enabled && !data?.[MONITORING_SECRET_KEY]) {
                    throw new Error(`Secret ${args.namespace}/${args.existingSecretName} has no key "${MONITORING_SECRET_KEY}" (needed with monitoring.enabled)`);
                }
                for (const key of ctx.topology.secretKeys) {
                    if (!data?.[key]) throw new Error(`Secret ${args.namespace}/${args.existingSecretName} has no key "${key}" (needed with failover "${ctx.topology.name}")`);
                }
                return Buffer.from(value, "base64").toString("utf8");
            }),
        );
        return { appPassword };
    }

    // Bumping passwordVersion changes the keeper, which makes random generate new values.
    const keepers = { version: String(args.passwordVersion) };
    const password = (role: string) =>
        new random.RandomPassword(
            `${ctx.name}-${role}-password`,
            // Letters and digits only: the values go into URIs, passfiles and SQL without escaping trouble;
            // 32 of them still carry about 190 bits.
            { length: 32, special: false, keepers },
            { parent, additionalSecretOutputs: ["result"] },
        ).result;
    const superuser = password("superuser");
    const replication = password("replication");
    const app = password("app");
    const rewind = password("rewind");
    // The pooler's role (pooler.enabled): created only then, so that a cluster without one keeps its Secret as it was.
    const pooler = args.pooler.enabled ? password("pooler") : undefined;
    const monitoring = args.monitoring.enabled ? password("monitoring") : undefined;
    // The backup Jobs' role (backup.enabled), likewise only then.
    const backup = args.backup.enabled ? password("backup") : undefined;
    const own = ctx.topology.secretKeys.map((key) => [key, password(key.replace(/-password$/, ""))] as const);

    const secret = new k8s.core.v1.Secret(
        `${ctx.name}-secret`,
        {
            metadata: { name: names.secret, namespace: args.namespace, labels: ctx.labels("credentials") },
            type: "Opaque",
            stringData: {
                [SECRET_KEYS.superuser]: pulumi.secret(superuser),
                [SECRET_KEYS.replication]: pulumi.secret(replication),
                [SECRET_KEYS.app]: pulumi.secret(app),
                [SECRET_KEYS.rewind]: pulumi.secret(rewind),
                ...(pooler ? { [POOLER_SECRET_KEY]: pulumi.secret(pooler) } : {}),
                ...(monitoring ? { [MONITORING_SECRET_KEY]: pulumi.secret(monitoring) } : {}),
                ...(backup ? { [BACKUP_SECRET_KEY]: pulumi.secret(backup) } : {}),
                ...Object.fromEntries(own.map(([key, value]) => [key, pulumi.secret(value)])),
            },
        },
        { parent, additionalSecretOutputs: ["data", "stringData"] },
    );
    return { secret, appPassword: pulumi.secret(app) };
}

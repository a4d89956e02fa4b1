/**
 * What a used backup repository adds to the database pods: the engine's backup scripts, configuration and
 * environment, and for a "volume" repository its claim, shared by every pod (whichever is primary archives).
 */
import { BuildContext } from "../core/context";
import { PodPart } from "../core/parts";
import { cidrs, tcp } from "../network/rules";
import { backupJobPodSelector } from "./objects";

/** pgBackRest talks HTTPS to S3: 443 unless the endpoint names a port. */
export const DEFAULT_S3_PORT = 443;

/** The port of `backup.s3Endpoint` ("host" or "host:port"). */
export function s3Port(endpoint: string): number {
    const m = /:([0-9]+)$/.exec(endpoint);
    return m ? Number(m[1]) : DEFAULT_S3_PORT;
}

export const BACKUP_REPOSITORY_VOLUME = "backup-repository";

/** The database port, from the backup Jobs' pods; none without scheduled backups. */
function backupJobIngress(ctx: BuildContext): PodPart["ingress"] {
    const podSelector = backupJobPodSelector(ctx);
    return podSelector ? [{ from: [{ podSelector }], ports: [tcp(ctx.engine.port)] }] : [];
}

export function backupPart(ctx: BuildContext): PodPart {
    const { args, names, engine } = ctx;
    const b = args.backup;
    if (!b.repositoryUsed) return {};
    return {
        env: engine.backup.env(ctx),
        scripts: engine.backup.scripts(),
        configFiles: engine.backup.configFiles(ctx),
        // The backup Jobs log into the primary to ask for a backup (backup/objects.ts).
        ingress: backupJobIngress(ctx),
        // The repository's endpoint, while the repository is used.
        egress: b.repositoryType === "s3" ? [{ to: cidrs(args.networkPolicy.backupRepositoryCidrs), ports: [tcp(s3Port(b.s3Endpoint))] }] : [],
        volumes:
            b.repositoryType === "volume"
                ? [{ name: BACKUP_REPOSITORY_VOLUME, source: { persistentVolumeClaim: { claimName: names.backupClaim } }, mountPath: engine.backup.repositoryMountPath }]
                : [],
    };
}

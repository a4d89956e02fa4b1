/**
 * What a database engine supplies. The Kubernetes plumbing (storage, Services, StatefulSet, RBAC) is the
 * same for every engine; everything that depends on the database lives behind this interface and its
 * topologies (./topology.ts).
 */
import * as pulumi from "@pulumi/pulumi";
import { ResolvedArgs } from "../args";
import { SettingNamer } from "../validation";
import { EngineContext, EnvVar } from "./engineContext";
import { Topology } from "./topology";

export { Container, EngineContext, EnvVar, MountPaths } from "./engineContext";

/** The connection details an engine derives from the host names and the application password. */
export interface Connection {
    /** A URI for writes through the read-write Service. */
    writeUri: pulumi.Output<string>;
    /** A URI for reads through the read-only Service. */
    readUri: pulumi.Output<string>;
    /** A multi-host URI over every pod's DNS name that only lands on the one that takes writes (libpq style). */
    writeMultiHostUri: pulumi.Output<string>;
    /** A multi-host URI over the replicas' pod DNS names that only lands on replicas (libpq style). */
    readMultiHostUri: pulumi.Output<string>;
    /** JDBC URLs, where the engine has a JDBC driver that understands the roles. */
    jdbcWriteUrl: pulumi.Output<string>;
    /** A JDBC URL over every pod that only lands on the primary. */
    jdbcWriteMultiHostUrl: pulumi.Output<string>;
    jdbcReadUrl: pulumi.Output<string>;
}

/** How an engine backs up: the plumbing creates the repository claim, the CronJobs and their RBAC around these. */
export interface BackupSupport {
    /** Where a "volume" repository's claim is mounted in the database container. */
    readonly repositoryMountPath: string;
    /** Configuration files for the config ConfigMap. */
    configFiles(ctx: EngineContext): Record<string, string>;
    /** The database container's extra environment (empty when the repository is not used). */
    env(ctx: EngineContext): EnvVar[];
    /** Scripts for the scripts ConfigMap (pod side and the backup Job's). */
    scripts(): Record<string, string>;
    /** The backup Job's command for a backup type ("full", "diff"). */
    jobCommand(ctx: EngineContext, type: string): string[];
    /** Where the backups go, for the stack outputs ("" when backups are off); no credentials. */
    repositoryUrl(args: ResolvedArgs, claimName: string): string;
}

export interface Engine {
    /** The engine's name, also its `app.kubernetes.io/name` label. */
    readonly name: string;
    readonly defaultImage: string;
    readonly port: number;
    readonly portName: string;
    /** Where the data volume is mounted in the database container. */
    readonly dataMountPath: string;
    /** The uid/gid the image runs the server as. */
    readonly uid: number;
    /** The major version of an image (data directories of different majors are incompatible), if known. */
    majorVersion(image: string): number | undefined;
    /** Engine-specific checks of the resolved args (image version, parameters). Throws ArgError. */
    validate(args: ResolvedArgs, setting: SettingNamer): void;
    /**
     * The topologies this engine offers, by their `failover` name: who decides the primary, and the
     * container, sidecars, RBAC, configuration and scripts that follow from it. A future engine may offer
     * only some.
     */
    readonly topologies: Readonly<Record<string, Topology>>;
    /** Extra scratch directories (emptyDir) the database container needs, by volume name. */
    scratchVolumes(): Record<string, ScratchDir>;
    /** Backups and restores (README, "Backups and point-in-time recovery"). */
    readonly backup: BackupSupport;
    /** Connection strings for the application user; `password` is a secret. */
    connection(ctx: EngineContext, password: pulumi.Output<string>): Connection;
}

/** A scratch directory: an emptyDir mounted at one path, bounded so that a runaway writer evicts its own pod. */
export interface ScratchDir {
    mountPath: string;
    /** The emptyDir's sizeLimit, a Kubernetes quantity. */
    sizeLimit: string;
}

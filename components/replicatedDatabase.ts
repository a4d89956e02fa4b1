/**
 * ReplicatedDatabase: one primary that takes the writes and N streaming replicas that serve the reads, on
 * one StatefulSet, with its storage, Services, Secret, RBAC and disruption budget.
 */
import * as pulumi from "@pulumi/pulumi";
import { ReplicatedDatabaseArgs } from "./args";
import { getEngine, getTopology } from "./engines";
import { failoverDeprecation } from "./failover";
import { publishOutputs } from "./outputs";
import { plan as planCluster } from "./plan";
import { withoutPromiseStacks } from "./promiseStacks";
import { resolveArgs } from "./resolve";
import { createBackupClaim, createBackups } from "./backup/objects";
import { createConfigMaps } from "./builders/configmaps";
import { buildContext } from "./core/context";
import { createCredentials } from "./credentials/objects";
import { createDatabasePolicy } from "./network/policies";
import { createRbac } from "./builders/rbac";
import { createServices } from "./builders/services";
import { createDisruptionBudget, createStatefulSet } from "./builders/statefulset";
import { createGuard } from "./storage/guard";
import { createMonitoring } from "./monitoring/objects";
import { createTls } from "./tls/objects";
import { createStorage } from "./storage/objects";
import { createPooler } from "./pooler/objects";
import { pooledConnections } from "./pooler/connection";
import { tlsPart } from "./tls/pod";
import { storagePart } from "./storage/pod";
import { backupPart } from "./backup/pod";
import { standbyPart } from "./standby/pod";
import { monitoringPart } from "./monitoring/pod";
import { poolerPart } from "./pooler/pod";

export const TYPE_TOKEN = "replicated-db:index:ReplicatedDatabase";

export class ReplicatedDatabase extends pulumi.ComponentResource {
    // The outputs, as components/outputs.ts lists them (with which are secret); the fields are declared here
    // for the types and for Pulumi's schema inference, and assigned from that list in the constructor.
    /** The namespace everything lives in. */
    public readonly namespace!: pulumi.Output<string>;
    /** The StatefulSet's fixed name. */
    public readonly statefulSetName!: pulumi.Output<string>;
    /** The read-write Service's DNS name: it reaches the primary only. */
    public readonly primaryHost!: pulumi.Output<string>;
    /** The read-only Service's DNS name: it reaches the ready replicas only. */
    public readonly readOnlyHost!: pulumi.Output<string>;
    /** The port of both Services and of every pod. */
    public readonly port!: pulumi.Output<number>;
    /** Every pod's DNS name through the headless Service, ordinal 0 first. */
    public readonly podHosts!: pulumi.Output<string[]>;
    /** The name of the Secret that holds the passwords. */
    public readonly secretName!: pulumi.Output<string>;
    /** The application role. */
    public readonly appUser!: pulumi.Output<string>;
    /** The application database. */
    public readonly appDatabase!: pulumi.Output<string>;
    /** The application user's password (secret). */
    public readonly appPassword!: pulumi.Output<string>;
    /** A URI for writes, through the read-write Service (secret). */
    public readonly writeConnectionString!: pulumi.Output<string>;
    /** A URI for reads, through the read-only Service (secret). */
    public readonly readConnectionString!: pulumi.Output<string>;
    /**
     * A multi-host URI over every pod's DNS name with `target_session_attrs=read-write`: the driver connects
     * only to the pod that takes writes, even while the read-write Service lags behind a switchover
     * (secret). For libpq-based clients; node-postgres cannot parse it.
     */
    public readonly writeMultiHostConnectionString!: pulumi.Output<string>;
    /** A multi-host URI over the replicas' pod names that lands on standbys only (secret). */
    public readonly readMultiHostConnectionString!: pulumi.Output<string>;
    /** A JDBC URL for writes, through the read-write Service (secret). */
    public readonly jdbcWriteUrl!: pulumi.Output<string>;
    /** A JDBC URL over every pod's DNS name with `targetServerType=primary` (secret). */
    public readonly jdbcWriteMultiHostUrl!: pulumi.Output<string>;
    /** A JDBC URL for reads on the replicas (secret). */
    public readonly jdbcReadUrl!: pulumi.Output<string>;
    /** The CA certificate (PEM) clients verify the servers with; "" with TLS off or from cert-manager. */
    public readonly caCertificate!: pulumi.Output<string>;

    /** A URI for writes through the read-write pooler's Service (secret); "" without that pooler. */
    public readonly pooledWriteConnectionString!: pulumi.Output<string>;
    /** A URI for reads through the read-only pooler's Service (secret); "" without that pooler. */
    public readonly pooledReadConnectionString!: pulumi.Output<string>;

    /** Where the backups go (`s3://<bucket><path> (endpoint …)` or `pvc://<claim><path>`), no credentials; "" with backups off. */
    public readonly backupRepository!: pulumi.Output<string>;
    /** This cluster's pgBackRest stanza in that repository ("" with backups off): what a restore names. */
    public readonly backupStanza!: pulumi.Output<string>;

    constructor(name: string, args: ReplicatedDatabaseArgs = {}, opts?: pulumi.ComponentResourceOptions) {
        // Validate before registering anything: a bad argument must not leave half a component behind.
        const resolved = resolveArgs(name, args);
        super(TYPE_TOKEN, name, {}, opts);
        // Pulumi's per-promise debugging traces, unformatted while the children register: components/promiseStacks.ts.
        withoutPromiseStacks(() => {
            const deprecation = failoverDeprecation(args);
            if (deprecation) {
                pulumi.log.warn(deprecation, this);
            }

            const engine = getEngine(resolved.engine);
            const topology = getTopology(engine, resolved.failover);
            const plan = planCluster(resolved, topology);
            const { names } = plan;
            const ctx = buildContext(name, resolved, plan, engine, topology, this);

            // Refuses, at preview, a shrink or a major-version change against the last deployment.
            const guard = createGuard(ctx);
            const storage = createStorage(ctx, guard);
            const credentials = createCredentials(ctx);
            // What the features add to the pods, in this order: the builders combine them and name none.
            const parts = [topology.pod(ctx), storagePart(ctx), tlsPart(ctx), backupPart(ctx), standbyPart(ctx), poolerPart(ctx), monitoringPart(ctx)];
            const configMaps = createConfigMaps(ctx, parts);
            const rbac = createRbac(ctx);
            const services = createServices(ctx);
            const networkPolicy = createDatabasePolicy(ctx, parts);
            const networkPolicies = networkPolicy ? [networkPolicy] : [];
            const tls = createTls(ctx);
            const backupClaim = createBackupClaim(ctx);
            const statefulSet = createStatefulSet(ctx, {
                configChecksum: configMaps.checksum,
                parts,
                dependsOn: [
                    guard,
                    ...storage.claims,
                    ...(credentials.secret ? [credentials.secret] : []),
                    configMaps.scripts,
                    configMaps.config,
                    rbac.roleBinding,
                    services.headless,
                    // The pods start inside the policy, never open.
                    ...networkPolicies,
                    ...(backupClaim ? [backupClaim] : []),
                    ...(tls.resource ? [tls.resource] : []),
                ],
            });
            createDisruptionBudget(ctx);
            createBackups(ctx, statefulSet);
            // After the database: its pods start with the pooler's role, inside the same policies.
            createPooler(ctx, [statefulSet, ...networkPolicies, ...(credentials.secret ? [credentials.secret] : []), ...(tls.poolerResource ? [tls.poolerResource] : [])]);
            createMonitoring(ctx);

            const connection = engine.connection(ctx, credentials.appPassword);
            const pooled = pooledConnections(resolved, names, credentials.appPassword);
            const outputs = publishOutputs({
                namespace: resolved.namespace,
                statefulSetName: names.statefulSet,
                primaryHost: names.serviceHost(names.readWriteService),
                readOnlyHost: names.serviceHost(names.readOnlyService),
                port: engine.port,
                podHosts: plan.pods.map((p) => p.host),
                secretName: names.secret,
                appUser: resolved.appUser,
                appDatabase: resolved.appDatabase,
                appPassword: credentials.appPassword,
                writeConnectionString: connection.writeUri,
                readConnectionString: connection.readUri,
                writeMultiHostConnectionString: connection.writeMultiHostUri,
                readMultiHostConnectionString: connection.readMultiHostUri,
                jdbcWriteUrl: connection.jdbcWriteUrl,
                jdbcWriteMultiHostUrl: connection.jdbcWriteMultiHostUrl,
                jdbcReadUrl: connection.jdbcReadUrl,
                caCertificate: tls.caCertificate,
                backupRepository: engine.backup.repositoryUrl(resolved, names.backupClaim),
                pooledWriteConnectionString: pooled.write,
                pooledReadConnectionString: pooled.read,
                backupStanza: resolved.backup.enabled ? resolved.backup.stanza : "",
            });
            // The compiler holds the declared fields to what is published: same names, same types.
            const fields: Pick<ReplicatedDatabase, keyof typeof outputs> = outputs;
            Object.assign(this, fields);
            this.registerOutputs(outputs);
        });
    }
}

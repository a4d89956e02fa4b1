/**
 * ReplicatedDatabase: one primary that takes the writes and N streaming replicas that serve the reads, on
 * one StatefulSet, with its storage, Services, Secret, RBAC and disruption budget.
 */
import * as pulumi from "@pulumi/pulumi";
import { ReplicatedDatabaseArgs, resolveArgs } from "./args";
import { getEngine, getTopology } from "./engines";
import { failoverDeprecation } from "./failover";
import { names as deriveNames } from "./naming";
import { createClaimResizes } from "./resources/claimResize";
import { createConfigMaps } from "./resources/configmaps";
import { buildContext } from "./resources/context";
import { createCredentials } from "./resources/credentials";
import { createRbac } from "./resources/rbac";
import { createServices } from "./resources/services";
import { createDisruptionBudget, createStatefulSet } from "./resources/statefulset";
import { createGuard } from "./resources/guard";
import { createStorage } from "./resources/storage";

export const TYPE_TOKEN = "replicated-db:index:ReplicatedDatabase";

export class ReplicatedDatabase extends pulumi.ComponentResource {
    /** The namespace everything lives in. */
    public readonly namespace: pulumi.Output<string>;
    /** The StatefulSet's fixed name. */
    public readonly statefulSetName: pulumi.Output<string>;
    /** The read-write Service's DNS name: it reaches the primary only. */
    public readonly primaryHost: pulumi.Output<string>;
    /** The read-only Service's DNS name: it reaches the ready replicas only. */
    public readonly readOnlyHost: pulumi.Output<string>;
    /** The port of both Services and of every pod. */
    public readonly port: pulumi.Output<number>;
    /** Every pod's DNS name through the headless Service, ordinal 0 (the primary) first. */
    public readonly podHosts: pulumi.Output<string[]>;
    /** The name of the Secret that holds the passwords. */
    public readonly secretName: pulumi.Output<string>;
    /** The application role and database. */
    public readonly appUser: pulumi.Output<string>;
    public readonly appDatabase: pulumi.Output<string>;
    /** The application user's password (secret). */
    public readonly appPassword: pulumi.Output<string>;
    /** A URI for writes, through the read-write Service (secret). */
    public readonly writeConnectionString: pulumi.Output<string>;
    /** A URI for reads, through the read-only Service (secret). */
    public readonly readConnectionString: pulumi.Output<string>;
    /** A multi-host URI over the replicas' pod names that lands on standbys only (secret). */
    public readonly readMultiHostConnectionString: pulumi.Output<string>;
    /** JDBC URLs for writes and for reads on replicas (secret). */
    public readonly jdbcWriteUrl: pulumi.Output<string>;
    public readonly jdbcReadUrl: pulumi.Output<string>;

    constructor(name: string, args: ReplicatedDatabaseArgs = {}, opts?: pulumi.ComponentResourceOptions) {
        // Validate before registering anything: a bad argument must not leave half a component behind.
        const resolved = resolveArgs(name, args);
        super(TYPE_TOKEN, name, {}, opts);
        const deprecation = failoverDeprecation(args);
        if (deprecation) {
            pulumi.log.warn(deprecation, this);
        }

        const engine = getEngine(resolved.engine);
        const topology = getTopology(engine, resolved.failover);
        const names = deriveNames(resolved, topology);
        const ctx = buildContext(name, resolved, names, engine, topology, this);

        // Refuses, at preview, a shrink or a major-version change against the last deployment.
        const guard = createGuard(ctx);
        const storage = createStorage(ctx, guard);
        const credentials = createCredentials(ctx);
        const configMaps = createConfigMaps(ctx);
        const rbac = createRbac(ctx);
        const services = createServices(ctx);
        const statefulSet = createStatefulSet(ctx, {
            configChecksum: configMaps.checksum,
            dependsOn: [
                guard,
                ...storage.claims,
                ...(credentials.secret ? [credentials.secret] : []),
                configMaps.scripts,
                configMaps.config,
                rbac.roleBinding,
                services.headless,
            ],
        });
        createClaimResizes(ctx, statefulSet);
        createDisruptionBudget(ctx);

        const connection = engine.connection(ctx, credentials.appPassword);
        this.namespace = pulumi.output(resolved.namespace);
        this.statefulSetName = pulumi.output(names.statefulSet);
        this.primaryHost = pulumi.output(names.serviceHost(names.readWriteService));
        this.readOnlyHost = pulumi.output(names.serviceHost(names.readOnlyService));
        this.port = pulumi.output(engine.port);
        this.podHosts = pulumi.output(Array.from({ length: resolved.replicas + 1 }, (_, i) => names.podHost(i)));
        this.secretName = pulumi.output(names.secret);
        this.appUser = pulumi.output(resolved.appUser);
        this.appDatabase = pulumi.output(resolved.appDatabase);
        this.appPassword = pulumi.secret(credentials.appPassword);
        this.writeConnectionString = connection.writeUri;
        this.readConnectionString = connection.readUri;
        this.readMultiHostConnectionString = connection.readMultiHostUri;
        this.jdbcWriteUrl = connection.jdbcWriteUrl;
        this.jdbcReadUrl = connection.jdbcReadUrl;

        this.registerOutputs({
            namespace: this.namespace,
            statefulSetName: this.statefulSetName,
            primaryHost: this.primaryHost,
            readOnlyHost: this.readOnlyHost,
            port: this.port,
            podHosts: this.podHosts,
            secretName: this.secretName,
            appUser: this.appUser,
            appDatabase: this.appDatabase,
            appPassword: this.appPassword,
            writeConnectionString: this.writeConnectionString,
            readConnectionString: this.readConnectionString,
            readMultiHostConnectionString: this.readMultiHostConnectionString,
            jdbcWriteUrl: this.jdbcWriteUrl,
            jdbcReadUrl: this.jdbcReadUrl,
        });
    }
}

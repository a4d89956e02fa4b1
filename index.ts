/**
 * The program: one ReplicatedDatabase configured by the stack's `replicated-db:*` config, and the outputs
 * applications connect with. `pulumi up` per environment (Pulumi.<stack>.yaml); `npm run render -- --stack
 * <stack>` prints the same objects without a cluster.
 */
import * as pulumi from "@pulumi/pulumi";
// The package by its name, exactly as another team's stack imports it (npm run build makes lib/).
import { ReplicatedDatabase, resolveArgs } from "replicated-db";
import { COMPONENT_NAME, argsFromConfig, configKey } from "./program/config";

const args = argsFromConfig(pulumi.runtime.allConfig());
// Check with the config keys' names first, so that an error says what to fix in Pulumi.<stack>.yaml.
resolveArgs(COMPONENT_NAME, args, configKey);
const db = new ReplicatedDatabase(COMPONENT_NAME, args);

export const namespace = db.namespace;
export const statefulSetName = db.statefulSetName;
export const primaryHost = db.primaryHost;
export const readOnlyHost = db.readOnlyHost;
export const port = db.port;
export const podHosts = db.podHosts;
export const secretName = db.secretName;
export const appUser = db.appUser;
export const appDatabase = db.appDatabase;
export const writeConnectionString = db.writeConnectionString;
export const readConnectionString = db.readConnectionString;
export const readMultiHostConnectionString = db.readMultiHostConnectionString;
export const jdbcWriteUrl = db.jdbcWriteUrl;
export const jdbcReadUrl = db.jdbcReadUrl;

/**
 * The program: one ReplicatedDatabase configured by the stack's `replicated-db:*` config, and the outputs
 * applications connect with: every output of the component (components/outputs.ts lists them, and which are
 * secret). `pulumi up` per environment (Pulumi.<stack>.yaml); `npm run render -- --stack <stack>` prints the
 * same objects without a cluster, `--outputs` these outputs.
 */
import * as pulumi from "@pulumi/pulumi";
// The package by its name, exactly as another team's stack imports it (npm run build makes lib/).
import { OUTPUT_NAMES, ReplicatedDatabase } from "replicated-db";
import { COMPONENT_NAME, checkedArgsFromConfig } from "./program/config";

// Checked with the config keys' names first, so that an error says what to fix in Pulumi.<stack>.yaml.
const db = new ReplicatedDatabase(COMPONENT_NAME, checkedArgsFromConfig(pulumi.runtime.allConfig()));

// The stack outputs are this module's exports; Pulumi reads them from module.exports.
export = Object.fromEntries(OUTPUT_NAMES.map((name) => [name, db[name]]));

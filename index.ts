/**
 * The program: one ReplicatedDatabase configured by the stack's `replicated-db:*` config, and the outputs
 * applications connect with: every output of the component (components/outputs.ts lists them, and which are
 * secret). `pulumi up` per environment (Pulumi.<stack>.yaml); `npm run render -- --stack <stack>` prints the
 * same objects without a cluster, `--outputs` these outputs.
 */
import * as pulumi from "@pulumi/pulumi";
// The component's sources, not the package's build: an edit to components/ followed by `pulumi up` deploys
// that edit. Other stacks import the package by its name ("replicated-db", examples/); the built package is
// tested in tests/integration.
import { OUTPUT_NAMES, ReplicatedDatabase } from "./components";
import { COMPONENT_NAME, checkedArgsFromConfig } from "./program/config";

// Checked with the config keys' names first, so that an error says what to fix in Pulumi.<stack>.yaml.
const db = new ReplicatedDatabase(COMPONENT_NAME, checkedArgsFromConfig(pulumi.runtime.allConfig()));

// The stack outputs are this module's exports; Pulumi reads them from module.exports.
export = Object.fromEntries(OUTPUT_NAMES.map((name) => [name, db[name]]));

// The policy pack: `pulumi preview --policy-pack ./policy` (or publish it to your organization and
// apply it with config {"replicated-db-replica-in-production": {"production": true}} to production stacks).
// replicated-db-backups-in-production decides by the stack's name instead: config
// {"replicated-db-backups-in-production": {"productionStacks": "<regular expression>"}} to change which.
import { PolicyPack } from "@pulumi/policy";
import { backupsInProduction, noPlainTextPasswords, replicaInProduction, restrictedPods, volumesRetained } from "./policies";

new PolicyPack("replicated-db", {
    policies: [volumesRetained, noPlainTextPasswords, restrictedPods, replicaInProduction, backupsInProduction],
});

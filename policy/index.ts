// The policy pack: `pulumi preview --policy-pack ./policy` (or publish it to your organization and
// apply it with config {"replicated-db-replica-in-production": {"production": true}} to production stacks).
import { PolicyPack } from "@pulumi/policy";
import { noPlainTextPasswords, replicaInProduction, restrictedPods, volumesRetained } from "./policies";

new PolicyPack("replicated-db", {
    policies: [volumesRetained, noPlainTextPasswords, restrictedPods, replicaInProduction],
});

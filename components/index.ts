/** The replicated-db package: the ReplicatedDatabase component, its args and their validation. */
export { ReplicatedDatabase, TYPE_TOKEN } from "./replicatedDatabase";
export { ReplicatedDatabaseArgs, ResourcesArgs, StandbyArgs, StaticVolumesArgs, ResolvedArgs } from "./args";
export { ARGS, ArgKind, ArgName, ArgSpec, DEFAULTS, KNOWN_ARGS, argKind } from "./argTable";
export { resolveArgs, resolveParameters, resolveResources, resolveStaticVolumes } from "./resolve";
export { OUTPUTS, OUTPUT_NAMES, OutputName } from "./outputs";
export { ClusterPlan, PodPlan, plan } from "./plan";
export { MAX_REPLICAS, MAX_CLUSTER_NAME } from "./limits";
export { ArgError, SettingNamer, parseQuantity } from "./validation";
export { ROLE_LABEL, SECRET_KEYS } from "./naming";
export { engineNames } from "./engines";

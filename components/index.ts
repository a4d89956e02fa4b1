/** The replicated-db package: the ReplicatedDatabase component, its args and their validation. */
export { ReplicatedDatabase, TYPE_TOKEN } from "./replicatedDatabase";
export { ReplicatedDatabaseArgs, ResourcesArgs, StaticVolumesArgs, ResolvedArgs, DEFAULTS, resolveArgs } from "./args";
export { MAX_REPLICAS, MAX_CLUSTER_NAME } from "./limits";
export { ArgError, SettingNamer, parseQuantity } from "./validation";
export { ROLE_LABEL, SECRET_KEYS } from "./naming";
export { engineNames } from "./engines";

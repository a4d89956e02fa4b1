/**
 * What a standby cluster adds to the pods (README, "Disaster recovery: standby cluster"):
 * - in the config ConfigMap, read live by the supervisor on every tick (never part of the checksum that rolls
 *   the pods, so that a promotion is a config change, not a restart): `standby-hosts` (the source's hosts,
 *   comma-separated; empty once promoted), `standby-port`, `standby-ca.crt` (the source's CA) and, with Patroni,
 *   `patroni-standby.json` (its standby_cluster setting, null once promoted: the Patroni topology's part);
 * - the Secret `replicationSecretName`'s `replication-password` (the source's), mounted beside the cluster's
 *   own Secret, and RDB_REPLICATION_SECRET_DIR naming it: the scripts take the replication password from there.
 * Nothing at all without the `standby` arg.
 */
import { ResolvedArgs } from "../args";
import { SECRET_KEYS } from "../naming";
import { BuildContext } from "../core/context";
import { PodPart } from "../core/parts";
import { cidrs, tcp } from "../network/rules";

export const STANDBY_CONFIG_KEYS = { hosts: "standby-hosts", port: "standby-port", ca: "standby-ca.crt" } as const;
export const REPLICATION_SECRET_VOLUME = "standby-replication";
export const REPLICATION_SECRET_MOUNT = "/etc/replicated-db/standby-replication";

/** The live config files; with `enabled` false `standby-hosts` is empty: the standby leader promotes. */
export function standbyConfigFiles(args: ResolvedArgs): Record<string, string> {
    const sb = args.standby;
    if (!sb) return {};
    return {
        [STANDBY_CONFIG_KEYS.hosts]: sb.enabled ? sb.sourceHosts.join(",") : "",
        [STANDBY_CONFIG_KEYS.port]: String(sb.sourcePort),
        [STANDBY_CONFIG_KEYS.ca]: sb.sourceCaCertificate,
    };
}

export function standbyPart(ctx: BuildContext): PodPart {
    const { args } = ctx;
    const secretName = args.standby?.replicationSecretName ?? "";
    return {
        liveFiles: standbyConfigFiles(args),
        // The stream from the source (kept after a promotion, so that the pod template and policy do not change with it).
        egress: args.standby ? [{ to: cidrs(args.standby.sourceCidrs), ports: [tcp(args.standby.sourcePort)] }] : [],
        ...(secretName === ""
            ? {}
            : {
                  env: [{ name: "RDB_REPLICATION_SECRET_DIR", value: REPLICATION_SECRET_MOUNT }],
                  volumes: [
                      {
                          name: REPLICATION_SECRET_VOLUME,
                          source: { secret: { secretName, defaultMode: 0o440, items: [{ key: SECRET_KEYS.replication, path: SECRET_KEYS.replication }] } },
                          mountPath: REPLICATION_SECRET_MOUNT,
                          readOnly: true,
                      },
                  ],
              }),
    };
}

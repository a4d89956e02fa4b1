/**
 * The `monitoring` arg: defaults and checks. Pure; resolveArgs calls it before any resource exists.
 */
import { MonitoringArgs, ResolvedMonitoring } from "../args";
import { DEFAULTS } from "../argTable";
import { checkLabels, resolvePeers } from "../network/resolve";
import { ArgError, SettingNamer, argName, checkBoolean, checkInteger, checkPinnedImage, checkRoleName, checkSettingsMap } from "../validation";

/** A port the pods already use, and what uses it. */
export interface TakenPort {
    port: number;
    what: string;
}

/**
 * The monitoring settings with their fields' defaults. `roles` are the roles already taken (replication,
 * application, pooler) with the setting that names each: the monitoring role must be another one, or it would
 * get their privileges. `taken` are the ports the engine and its topologies serve: the exporter's must be another.
 */
export function resolveMonitoring(
    given: MonitoringArgs,
    roles: { role: string; setting: string }[],
    taken: TakenPort[],
    setting: SettingNamer = argName,
): ResolvedMonitoring {
    const d = DEFAULTS.monitoring;
    checkSettingsMap(setting("monitoring"), given, Object.keys(d), "monitoring settings");
    const s = (key: keyof MonitoringArgs) => setting(`monitoring.${key}`);
    const user = checkRoleName(s("user"), given.user ?? d.user, roles);
    const port = checkInteger(s("port"), given.port ?? d.port, 1024, 65535);
    if (taken.some((t) => t.port === port)) {
        throw new ArgError(s("port"), port, `a port from 1024 to 65535 other than ${taken.map((t) => `${t.port} (${t.what})`).join(" and ")}`);
    }
    return {
        enabled: checkBoolean(s("enabled"), given.enabled ?? d.enabled),
        exporterImage: checkPinnedImage(s("exporterImage"), given.exporterImage ?? d.exporterImage, d.exporterImage),
        user,
        port,
        prometheusOperator: checkBoolean(s("prometheusOperator"), given.prometheusOperator ?? d.prometheusOperator),
        prometheusLabels: checkLabels(s("prometheusLabels"), given.prometheusLabels ?? { ...d.prometheusLabels }),
        // [] is allowed: nobody scrapes through the policy (a scraper on the node, or none).
        scrapers: resolvePeers(s("scrapers"), given.scrapers ?? structuredClone(d.scrapers), "nobody"),
        replayLagSeconds: checkInteger(s("replayLagSeconds"), given.replayLagSeconds ?? d.replayLagSeconds, 1, 86400),
        slotWalPercent: checkInteger(s("slotWalPercent"), given.slotWalPercent ?? d.slotWalPercent, 1, 100),
        diskUsedPercent: checkInteger(s("diskUsedPercent"), given.diskUsedPercent ?? d.diskUsedPercent, 1, 99),
        backupMaxAgeHours: checkInteger(s("backupMaxAgeHours"), given.backupMaxAgeHours ?? d.backupMaxAgeHours, 1, 8760),
        grafanaDashboard: checkBoolean(s("grafanaDashboard"), given.grafanaDashboard ?? d.grafanaDashboard),
    };
}

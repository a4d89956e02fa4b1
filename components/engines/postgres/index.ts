/**
 * The PostgreSQL engine: the official `postgres` image, started by our own scripts (see
 * docs/pod-contract.md) so that ordinal-0 initialises a primary and every other ordinal clones it with
 * pg_basebackup and streams from it.
 */
import * as fs from "fs";
import * as path from "path";
import { ArgError, SettingNamer } from "../../validation";
import { ResolvedArgs } from "../../args";
import { Container, Engine, EngineContext, EnvVar } from "../engine";
import { pgHbaConf, postgresqlConf } from "./config";
import { PORT, connection } from "./connection";
import { PATRONI_CONFIG_FILE, PATRONI_PORT, patroniConfigFile, patroniContainer } from "./patroni";

/** The majors whose behaviour the scripts rely on (PG 14 brought target_session_attrs=standby to libpq). */
export const SUPPORTED_MAJORS = [14, 15, 16, 17, 18];
const SCRIPTS_DIR = path.join(__dirname, "scripts");
const DATA_MOUNT = "/var/lib/postgresql/data";
const SOCKET_DIR = "/var/run/postgresql";
const PGDATA = `${DATA_MOUNT}/pgdata`;

/** The major version in an image tag ("postgres:17.6-bookworm" -> 17), or undefined. */
export function imageMajor(image: string): number | undefined {
    const ref = image.split("@")[0];
    const colon = ref.lastIndexOf(":");
    if (colon <= ref.lastIndexOf("/")) {
        return undefined;
    }
    const m = /^([0-9]+)(?:[.-]|$)/.exec(ref.slice(colon + 1));
    return m ? Number(m[1]) : undefined;
}

function validate(args: ResolvedArgs, setting: SettingNamer): void {
    const major = imageMajor(args.image);
    if (major === undefined || !SUPPORTED_MAJORS.includes(major)) {
        throw new ArgError(
            setting("image"),
            args.image,
            `a PostgreSQL image whose tag starts with a supported major version (${SUPPORTED_MAJORS.join(", ")}), ` +
                "such as \"postgres:17.6\"; a floating tag like \"latest\" could change the major version under a running cluster",
        );
    }
}

/** The scripts of one folder of SCRIPTS_DIR, shipped flat (ConfigMap keys cannot hold a "/"). */
function folderScripts(folder: string): Record<string, string> {
    const dir = path.join(SCRIPTS_DIR, folder);
    const files = fs.readdirSync(dir).filter((f) => f.endsWith(".sh")).sort();
    return Object.fromEntries(files.map((f) => [f, fs.readFileSync(path.join(dir, f), "utf8")]));
}

function scripts(): Record<string, string> {
    return { ...folderScripts("common"), ...folderScripts("manual"), ...folderScripts("patroni") };
}

function probe(kind: string, ctx: EngineContext) {
    return { exec: { command: ["/bin/bash", `${ctx.paths.scripts}/probe.sh`, kind] } };
}

const field = (fieldPath: string) => ({ valueFrom: { fieldRef: { fieldPath } } });

/** The environment both modes share, with the mode's own variables in the middle (docs/pod-contract.md). */
function baseEnv(ctx: EngineContext, modeEnv: EnvVar[]): EnvVar[] {
    const { args, names, paths } = ctx;
    return [
        { name: "POD_NAME", ...field("metadata.name") },
        { name: "POD_NAMESPACE", ...field("metadata.namespace") },
        { name: "PGDATA", value: PGDATA },
        { name: "PGPORT", value: String(PORT) },
        { name: "RDB_SCRIPTS_DIR", value: paths.scripts },
        { name: "RDB_CONFIG_DIR", value: paths.config },
        { name: "RDB_SECRET_DIR", value: paths.secret },
        { name: "RDB_RUN_DIR", value: paths.run },
        { name: "RDB_SOCKET_DIR", value: SOCKET_DIR },
        { name: "RDB_CLUSTER", value: names.statefulSet },
        // Pod DNS names are "<cluster>-<ordinal>" + this: the scripts reach other pods by name through the
        // headless Service, never by IP.
        { name: "RDB_POD_DNS_SUFFIX", value: names.podHost(0).slice(`${names.pod(0)}`.length) },
        ...modeEnv,
        { name: "RDB_SUPERUSER", value: "postgres" },
        { name: "RDB_REPLICATION_USER", value: args.replicationUser },
        { name: "RDB_APP_USER", value: args.appUser },
        { name: "RDB_APP_DATABASE", value: args.appDatabase },
    ];
}

/** Script-driven mode: our entrypoint and probes decide the roles (primaryOrdinal). */
function scriptedContainer(ctx: EngineContext): Container {
    const { args, paths } = ctx;
    return {
        name: "postgres",
        image: args.image,
        command: ["/bin/bash", `${paths.scripts}/entrypoint.sh`],
        ports: [{ name: "postgresql", containerPort: PORT, protocol: "TCP" }],
        env: baseEnv(ctx, [
            { name: "RDB_LISTEN_ADDRESSES", value: "*" },
            { name: "RDB_ALLOW_MAJOR_CHANGE", value: String(args.allowMajorVersionChange) },
        ]),
        // A clone of a large primary takes long: the startup probe holds the other probes off for up
        // to an hour instead of letting liveness kill a pod that is still copying.
        startupProbe: { ...probe("startup", ctx), periodSeconds: 10, timeoutSeconds: 5, failureThreshold: 360 },
        readinessProbe: { ...probe("readiness", ctx), periodSeconds: 5, timeoutSeconds: 5, failureThreshold: 3 },
        livenessProbe: { ...probe("liveness", ctx), periodSeconds: 10, timeoutSeconds: 5, failureThreshold: 6 },
    };
}

export const postgresql: Engine = {
    name: "postgresql",
    defaultImage: "docker.io/library/postgres:17.6-bookworm",
    port: PORT,
    portName: "postgresql",
    dataMountPath: DATA_MOUNT,
    uid: 999,
    majorVersion: imageMajor,
    validate,
    scripts,
    configFiles: (ctx): Record<string, string> =>
        ctx.args.automatedFailover
            ? { [PATRONI_CONFIG_FILE]: patroniConfigFile(ctx, PGDATA, SOCKET_DIR) }
            : { "postgresql.conf": postgresqlConf(ctx.args), "pg_hba.conf": pgHbaConf(ctx.args) },
    scratchVolumes: () => ({ socket: SOCKET_DIR, tmp: "/tmp" }),
    container: (ctx) => (ctx.args.automatedFailover ? patroniContainer(ctx, baseEnv(ctx, [{ name: "RDB_PATRONI_PORT", value: String(PATRONI_PORT) }])) : scriptedContainer(ctx)),
    connection,
};

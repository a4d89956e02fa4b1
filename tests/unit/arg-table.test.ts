/**
 * The args are declared once (components/argTable.ts); the interface's `@default`s, KNOWN_ARGS, the stack-config
 * reader and resolveArgs's defaults must agree with it. The configuration reference (docs/configuration.md) and
 * the topic pages' field tables are generated from it and the interfaces' JSDoc by scripts/gen-docs.ts, and
 * tests/unit/gen-docs.test.ts holds the pages to what that writes.
 */
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import * as ts from "typescript";
import {
    ARGS,
    ArgKind,
    DEFAULTS,
    FieldSpec,
    KNOWN_ARGS,
    BACKUP_FIELDS,
    NETWORK_PEER_FIELDS,
    NETWORK_POLICY_FIELDS,
    TLS_FIELDS,
    POOLER_FIELDS,
    PATRONI_FIELDS,
    MONITORING_FIELDS,
    RESOURCE_FIELDS,
    RESTORE_FIELDS,
    STANDBY_FIELDS,
    STATIC_VOLUME_FIELDS,
    jsdocDefault,
} from "../../components/argTable";
import { getEngine } from "../../components/engines";
import { resolveArgs } from "../../components/resolve";
import { argsFromConfig } from "../../program/config";
import { ROOT, interfaceMembers, runtimeImports } from "./sources";

const ARGS_FILE = "components/args.ts";
const TYPE_OF_KIND: Record<ArgKind, ts.SyntaxKind[]> = {
    string: [ts.SyntaxKind.StringKeyword],
    number: [ts.SyntaxKind.NumberKeyword],
    boolean: [ts.SyntaxKind.BooleanKeyword],
    object: [ts.SyntaxKind.TypeReference, ts.SyntaxKind.TypeLiteral],
};

function checkMembers(iface: string, table: Record<string, FieldSpec>, kinds?: Record<string, ArgKind>): void {
    const members = interfaceMembers(ARGS_FILE, iface);
    assert.deepStrictEqual(members.map((m) => m.name).sort(), Object.keys(table).sort(), `${iface} and its table name different members`);
    for (const m of members) {
        assert.ok(m.optional, `${iface}.${m.name} must be optional`);
        assert.ok(m.defaultTag !== undefined, `${iface}.${m.name} has no @default`);
        assert.strictEqual(m.defaultTag, jsdocDefault(table[m.name]), `${iface}.${m.name}: @default differs from the table`);
        // Other Pulumi languages cannot take unions or functions (the schema inference reads this file).
        assert.ok(![ts.SyntaxKind.UnionType, ts.SyntaxKind.FunctionType].includes(m.typeKind), `${iface}.${m.name} is ${m.typeText}`);
        if (kinds) {
            assert.ok(TYPE_OF_KIND[kinds[m.name]].includes(m.typeKind), `${iface}.${m.name} is ${m.typeText}, the table says ${kinds[m.name]}`);
        }
    }
}

describe("the args table", () => {
    it("names every member of ReplicatedDatabaseArgs, with its @default and type", () => {
        const kinds = Object.fromEntries(Object.entries(ARGS).map(([k, s]) => [k, s.kind]));
        checkMembers("ReplicatedDatabaseArgs", ARGS, kinds);
    });

    it("gives the fields of staticVolumes and resources their @defaults", () => {
        checkMembers("StaticVolumesArgs", STATIC_VOLUME_FIELDS);
        checkMembers("ResourcesArgs", RESOURCE_FIELDS);
        assert.strictEqual(ARGS.staticVolumes.fields, STATIC_VOLUME_FIELDS);
        assert.strictEqual(ARGS.resources.fields, RESOURCE_FIELDS);
        checkMembers("BackupArgs", BACKUP_FIELDS);
        checkMembers("RestoreArgs", RESTORE_FIELDS);
        assert.strictEqual(ARGS.backup.fields, BACKUP_FIELDS);
        assert.strictEqual(ARGS.restore.fields, RESTORE_FIELDS);
        checkMembers("NetworkPolicyArgs", NETWORK_POLICY_FIELDS);
        checkMembers("NetworkPeerArgs", NETWORK_PEER_FIELDS);
        assert.strictEqual(ARGS.networkPolicy.fields, NETWORK_POLICY_FIELDS);
        checkMembers("TlsArgs", TLS_FIELDS);
        assert.strictEqual(ARGS.tls.fields, TLS_FIELDS);
        checkMembers("PoolerArgs", POOLER_FIELDS);
        assert.strictEqual(ARGS.pooler.fields, POOLER_FIELDS);
        checkMembers("StandbyArgs", STANDBY_FIELDS);
        assert.strictEqual(ARGS.standby.fields, STANDBY_FIELDS);
        checkMembers("PatroniArgs", PATRONI_FIELDS);
        assert.strictEqual(ARGS.patroni.fields, PATRONI_FIELDS);
        checkMembers("MonitoringArgs", MONITORING_FIELDS);
        assert.strictEqual(ARGS.monitoring.fields, MONITORING_FIELDS);
    });

    it("spells the staticVolumes fields' defaults out in its \"allowed\" words", () => {
        // docs/configuration.md is generated from the table (tests/unit/gen-docs.test.ts); its words are checked here.
        const sv = ARGS.staticVolumes.allowed;
        assert.ok(sv.includes(`\`type\` (\`hostPath\` \\| \`local\`, default \`${STATIC_VOLUME_FIELDS.type.default}\`)`), sv);
        assert.ok(sv.includes(`\`basePath\` (default \`${STATIC_VOLUME_FIELDS.basePath.default}\``), sv);
    });

    it("is what KNOWN_ARGS and DEFAULTS are made of", () => {
        assert.deepStrictEqual([...KNOWN_ARGS], Object.keys(ARGS));
        for (const [name, spec] of Object.entries(ARGS)) {
            if (["staticVolumes", "resources", "backup", "restore", "networkPolicy", "tls", "patroni", "pooler", "standby"].includes(name)) continue;
            if (["staticVolumes", "resources", "backup", "restore", "networkPolicy", "tls", "monitoring"].includes(name)) continue;
            assert.deepStrictEqual((DEFAULTS as Record<string, unknown>)[name], (spec as FieldSpec).default, name);
        }
        assert.deepStrictEqual(DEFAULTS.resources, ARGS.resources.default);
        assert.deepStrictEqual(DEFAULTS.staticVolumes, { type: "hostPath", basePath: "/var/lib/replicated-db", nodeNames: [] });
        assert.strictEqual(DEFAULTS.backup.enabled, false);
        assert.deepStrictEqual(Object.keys(DEFAULTS.backup), Object.keys(BACKUP_FIELDS));
        assert.deepStrictEqual(Object.keys(DEFAULTS.restore), Object.keys(RESTORE_FIELDS));
        assert.deepStrictEqual(Object.keys(DEFAULTS.networkPolicy), Object.keys(NETWORK_POLICY_FIELDS));
        assert.deepStrictEqual(DEFAULTS.tls, Object.fromEntries(Object.entries(TLS_FIELDS).map(([k, f]) => [k, f.default])));
        assert.deepStrictEqual(DEFAULTS.standby, Object.fromEntries(Object.entries(STANDBY_FIELDS).map(([k, f]) => [k, f.default])));
        assert.deepStrictEqual(DEFAULTS.monitoring, Object.fromEntries(Object.entries(MONITORING_FIELDS).map(([k, f]) => [k, f.default])));
    });

    it("holds the defaults resolveArgs fills in", () => {
        const resolved = resolveArgs("db", {}) as unknown as Record<string, unknown>;
        for (const [name, spec] of Object.entries(ARGS) as [string, FieldSpec][]) {
            if (spec.default !== undefined) {
                assert.deepStrictEqual(resolved[name], spec.default, `resolveArgs's default of ${name}`);
            }
        }
        assert.strictEqual(resolved.clusterName, "db", "clusterName defaults to the component's name");
        assert.strictEqual(ARGS.image.default, getEngine(ARGS.engine.default).defaultImage, "the default engine's image");
        const sv = resolveArgs("db", { createStorageClass: true, staticVolumes: {} }).staticVolumes!;
        assert.deepStrictEqual(sv, { type: "hostPath", basePath: "/var/lib/replicated-db", nodeNames: [] });
        assert.deepStrictEqual(resolveArgs("db", { resources: { cpuLimit: "2" } }).resources, { ...ARGS.resources.default, cpuLimit: "2" });
        // The backup fields' defaults are what resolveArgs fills in; restore is off by default.
        const backup = resolveArgs("db", {}).backup as unknown as Record<string, unknown>;
        for (const [field, spec] of Object.entries(BACKUP_FIELDS)) {
            assert.deepStrictEqual(backup[field], spec.default, `resolveArgs's default of backup.${field}`);
        }
        assert.strictEqual(resolveArgs("db", {}).restore, undefined);
        // The network policy's too; a peer's namespaceLabels left out stays undefined (the cluster's namespace).
        const np = resolveArgs("db", {}).networkPolicy as unknown as Record<string, unknown>;
        for (const [field, spec] of Object.entries(NETWORK_POLICY_FIELDS)) {
            const expected = JSON.parse(JSON.stringify(spec.default), (_k, v) => (v && typeof v === "object" && "podLabels" in v ? { namespaceLabels: undefined, ...v } : v));
            assert.deepStrictEqual(np[field], expected, `resolveArgs's default of networkPolicy.${field}`);
        }
        // TLS's, with the Secret the pods mount worked out from the cluster's name.
        const { mountedSecretName, mountedPoolerSecretName, ...tls } = resolveArgs("db", {}).tls;
        assert.deepStrictEqual(tls, DEFAULTS.tls);
        assert.strictEqual(mountedSecretName, "db-tls");
        assert.strictEqual(mountedPoolerSecretName, "db-pooler-tls");
    });

    it("types every stack config value as its kind says", () => {
        const raw: Record<ArgKind, [string, unknown]> = {
            string: ["x-1", "x-1"],
            number: ["3", 3],
            boolean: ["true", true],
            object: ['{"a":"b"}', { a: "b" }],
        };
        for (const [name, spec] of Object.entries(ARGS)) {
            const [text, value] = raw[spec.kind];
            assert.deepStrictEqual(argsFromConfig({ [`replicated-db:${name}`]: text }), { [name]: value }, name);
        }
        // Not an arg: passed on as written, for resolveArgs to refuse by name.
        assert.deepStrictEqual(argsFromConfig({ "replicated-db:replica": "3" }), { replica: "3" });
    });

    it("leaves no import cycle among the component's modules", () => {
        const files: string[] = [];
        const walk = (dir: string) => {
            for (const e of fs.readdirSync(path.join(ROOT, dir), { withFileTypes: true })) {
                const p = path.join(dir, e.name);
                if (e.isDirectory()) walk(p);
                else if (p.endsWith(".ts")) files.push(p);
            }
        };
        walk("components");
        const edges = new Map(files.map((f) => [f, runtimeImports(f)]));
        assert.ok(edges.get("components/resolve.ts")!.includes("components/engines/index.ts"), "the walk sees resolve.ts load the engines");
        const state = new Map<string, "open" | "done">();
        const visit = (f: string, trail: string[]): void => {
            if (state.get(f) === "done") return;
            assert.notStrictEqual(state.get(f), "open", `import cycle: ${[...trail, f].join(" -> ")}`);
            state.set(f, "open");
            for (const g of edges.get(f) ?? []) visit(g, [...trail, f]);
            state.set(f, "done");
        };
        for (const f of files) visit(f, []);
        // Nor one through the types: the interfaces depend on nothing, and no engine reaches for resolveArgs (they
        // get resolved args); only a failover mode's own arg check and its timings read the table's defaults.
        const source = (f: string) => fs.readFileSync(path.join(ROOT, f), "utf8");
        assert.doesNotMatch(source(ARGS_FILE), /^import /m, `${ARGS_FILE} imports something`);
        const modeArgs = /^components\/engines\/postgres\/topologies\/[^/]+\/(resolve|timing)\.ts$/;
        for (const f of files.filter((x) => x.startsWith("components/engines/"))) {
            assert.doesNotMatch(source(f), /from "(\.\.\/)+resolve"/, `${f} imports resolveArgs`);
            if (!modeArgs.test(f)) assert.doesNotMatch(source(f), /from "(\.\.\/)+argTable"/, `${f} imports the args table`);
        }
    });
});

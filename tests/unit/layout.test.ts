/**
 * The layout of components/ (docs/design.md, "How the code is laid out"), read from the source's imports: no
 * import cycle between files or between folders, and the generic builders (core/, builders/) import no feature
 * and name none in their code.
 */
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { COMPONENTS } from "../scriptFolders";

/** Every .ts file under components/, relative to it. */
function sources(dir = COMPONENTS): string[] {
    return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
        const full = path.join(dir, e.name);
        if (e.isDirectory()) return sources(full);
        return e.name.endsWith(".ts") ? [path.relative(COMPONENTS, full)] : [];
    });
}

/** The files of components/ a file imports (relative imports only), relative to components/. */
function importsOf(file: string): string[] {
    const text = fs.readFileSync(path.join(COMPONENTS, file), "utf8");
    const specs = [...text.matchAll(/(?:from|import)\s+["'](\.{1,2}\/[^"']+)["']/g)].map((m) => m[1]);
    return specs.map((spec) => {
        const base = path.normalize(path.join(path.dirname(file), spec));
        const found = [`${base}.ts`, path.join(base, "index.ts")].find((c) => fs.existsSync(path.join(COMPONENTS, c)));
        assert.ok(found, `${file} imports ${spec}, which is not a file of components/`);
        return found;
    });
}

/** The folder a file belongs to for the layout: its first folder under components/, or the file itself at the root. */
const folderOf = (file: string) => (file.includes(path.sep) ? file.split(path.sep)[0] : file);

/** A cycle in the graph, as a path that returns to its start, or undefined. */
function findCycle(graph: Map<string, Set<string>>): string[] | undefined {
    const state = new Map<string, "open" | "done">();
    const stack: string[] = [];
    const visit = (node: string): string[] | undefined => {
        state.set(node, "open");
        stack.push(node);
        for (const next of graph.get(node) ?? []) {
            if (state.get(next) === "open") return [...stack.slice(stack.indexOf(next)), next];
            if (!state.has(next)) {
                const cycle = visit(next);
                if (cycle) return cycle;
            }
        }
        stack.pop();
        state.set(node, "done");
        return undefined;
    };
    for (const node of graph.keys()) {
        if (!state.has(node)) {
            const cycle = visit(node);
            if (cycle) return cycle;
        }
    }
    return undefined;
}

const FILES = sources();
const IMPORTS = new Map(FILES.map((f) => [f, new Set(importsOf(f))]));
/** The folders that hold one feature, the engine or a failover mode each. */
const FEATURES = ["backup", "credentials", "engines", "monitoring", "network", "pooler", "standby", "storage", "tls"];
const GENERIC = ["core", "builders"];
/** What the generic code must not name outside its comments. */
const FEATURE_WORDS = /backup|tls|pooler|monitoring|standby|patroni|manual|staticVolumes|exporter|pgbackrest|args\.networkPolicy/i;

/** A file's code with its comments removed (strings kept: a feature's name in a string is a feature named). */
const code = (file: string) =>
    fs
        .readFileSync(path.join(COMPONENTS, file), "utf8")
        .replace(/\/\*[\s\S]*?\*\//g, "")
        .replace(/(^|[^:])\/\/.*$/gm, "$1");

describe("the layout of components/", () => {
    it("reads every file's imports (the checks below see the whole tree)", () => {
        assert.ok(FILES.length > 50, `${FILES.length} files`);
        for (const folder of [...FEATURES, ...GENERIC]) assert.ok(FILES.some((f) => folderOf(f) === folder), `no folder ${folder}/`);
    });

    it("has no import cycle between files", () => {
        const cycle = findCycle(IMPORTS);
        assert.strictEqual(cycle, undefined, `import cycle: ${cycle?.join(" -> ")}`);
    });

    it("has no import cycle between folders: a folder's imports all run one way", () => {
        const folders = new Map<string, Set<string>>();
        for (const [file, targets] of IMPORTS) {
            const from = folderOf(file);
            if (!folders.has(from)) folders.set(from, new Set());
            for (const t of targets) if (folderOf(t) !== from) folders.get(from)!.add(folderOf(t));
        }
        const cycle = findCycle(folders);
        assert.strictEqual(cycle, undefined, `folders import each other: ${cycle?.join(" -> ")}`);
    });

    it("lets the generic builders import no feature, no engine and no failover mode", () => {
        for (const file of FILES.filter((f) => GENERIC.includes(folderOf(f)))) {
            for (const target of IMPORTS.get(file)!) {
                assert.ok(!FEATURES.includes(folderOf(target)), `${file} imports ${target}`);
            }
        }
    });

    it("lets the generic builders name no feature in their code", () => {
        // core/engine.ts is the contract of what an engine supplies, its backup support among it: the one place of
        // core/ that names a feature, as an engine's duty.
        for (const file of FILES.filter((f) => GENERIC.includes(folderOf(f)) && f !== path.join("core", "engine.ts"))) {
            const lines = code(file).split("\n");
            const named = lines.findIndex((l) => FEATURE_WORDS.test(l));
            assert.strictEqual(named, -1, `${file}: ${lines[named]?.trim()}`);
        }
    });

    it("keeps everything Patroni in its mode's folder", () => {
        for (const file of FILES.filter((f) => !f.startsWith(path.join("engines", "postgres", "topologies", "patroni")))) {
            const lines = code(file).split("\n");
            // The registry that lists the modes and the args (the `patroni` arg and its defaults) may name it.
            if (["engines/postgres/index.ts", "args.ts", "argTable.ts", "resolve.ts", "failover.ts"].includes(file.split(path.sep).join("/"))) continue;
            const named = lines.findIndex((l) => /patroni/i.test(l));
            assert.strictEqual(named, -1, `${file}: ${lines[named]?.trim()}`);
        }
    });
});

/** Reads the project's own sources for the "declared once" tests: TypeScript declarations. */
import * as fs from "fs";
import * as path from "path";
import * as ts from "typescript";

export const ROOT = path.join(__dirname, "..", "..");

export interface Member {
    name: string;
    /** The member's type as written. */
    typeText: string;
    typeKind: ts.SyntaxKind;
    optional: boolean;
    /** The text of its `@default` tag; undefined without one. */
    defaultTag: string | undefined;
    modifiers: string[];
}

function parse(file: string): ts.SourceFile {
    return ts.createSourceFile(file, fs.readFileSync(path.join(ROOT, file), "utf8"), ts.ScriptTarget.ES2022, true);
}

function member(node: ts.PropertySignature | ts.PropertyDeclaration, source: ts.SourceFile): Member {
    const tag = ts.getJSDocTags(node).find((t) => t.tagName.text === "default");
    const comment = tag === undefined ? undefined : ts.getTextOfJSDocComment(tag.comment) ?? "";
    return {
        name: node.name.getText(source),
        typeText: node.type?.getText(source) ?? "",
        typeKind: node.type?.kind ?? ts.SyntaxKind.Unknown,
        optional: node.questionToken !== undefined,
        defaultTag: comment?.replace(/\s+/g, " ").trim(),
        modifiers: (ts.getModifiers(node) ?? []).map((m) => m.getText(source)),
    };
}

/** The members of an exported interface, in source order. */
export function interfaceMembers(file: string, name: string): Member[] {
    const source = parse(file);
    const decl = source.statements.find((s): s is ts.InterfaceDeclaration => ts.isInterfaceDeclaration(s) && s.name.text === name);
    if (!decl) throw new Error(`${file} has no interface ${name}`);
    return decl.members.filter(ts.isPropertySignature).map((m) => member(m, source));
}

/** The property declarations of a class, in source order. */
export function classProperties(file: string, name: string): Member[] {
    const source = parse(file);
    const decl = source.statements.find((s): s is ts.ClassDeclaration => ts.isClassDeclaration(s) && s.name?.text === name);
    if (!decl) throw new Error(`${file} has no class ${name}`);
    return decl.members.filter(ts.isPropertyDeclaration).map((m) => member(m, source));
}

/**
 * The relative modules a TypeScript file loads at run time: its imports as the compiler emits them, so that
 * imports used only as types (which the emitted JavaScript drops) do not count.
 */
export function runtimeImports(file: string): string[] {
    const js = ts.transpileModule(fs.readFileSync(path.join(ROOT, file), "utf8"), {
        compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022 },
    }).outputText;
    const out: string[] = [];
    for (const m of js.matchAll(/require\("(\.{1,2}\/[^"]+)"\)/g)) {
        const base = path.join(path.dirname(file), m[1]);
        out.push(fs.existsSync(path.join(ROOT, `${base}.ts`)) ? `${base}.ts` : path.join(base, "index.ts"));
    }
    return out;
}

/**
 * The documentation's relative links resolve: every link in README.md and docs/*.md that is not a URL points at a
 * file or directory of the repository, and a link with an anchor (`page.md#heading`, `#heading`) at a heading of
 * that page, spelled as GitHub spells its anchors.
 */
import * as assert from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { ROOT } from "./sources";

/** Targets allowed to be missing: none. */
const ALLOWED_MISSING = new Set<string>();

/** The page's lines outside fenced code blocks (``` or ~~~), inline code spans blanked out unless `keepCode`. */
function proseLines(text: string, keepCode = false): { line: string; number: number }[] {
    const out: { line: string; number: number }[] = [];
    let fence: string | undefined;
    text.split("\n").forEach((raw, i) => {
        const m = /^\s*(`{3,}|~{3,})/.exec(raw);
        if (m) {
            if (fence === undefined) fence = m[1][0];
            else if (m[1][0] === fence) fence = undefined;
            return;
        }
        if (fence !== undefined) return;
        out.push({ line: keepCode ? raw : raw.replace(/(`+)[^`]*?\1/g, (s) => " ".repeat(s.length)), number: i + 1 });
    });
    return out;
}

/** GitHub's anchor for a heading's text: lower case, punctuation dropped (but `-` and `_`), spaces to `-`. */
export function slug(heading: string): string {
    const text = heading
        .replace(/!?\[([^\]]*)\]\([^)]*\)/g, "$1")
        .replace(/[`*]/g, "")
        .trim()
        .toLowerCase();
    return text.replace(/[^\p{L}\p{N} _-]/gu, "").replace(/ /g, "-");
}

/** The anchors of a page's headings; a repeated heading gets `-1`, `-2`, ... as on GitHub. */
export function anchors(text: string): Set<string> {
    const seen = new Map<string, number>();
    const out = new Set<string>();
    for (const { line } of proseLines(text, true)) {
        const m = /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(line);
        if (!m) continue;
        const base = slug(m[1]);
        const n = seen.get(base) ?? 0;
        seen.set(base, n + 1);
        out.add(n === 0 ? base : `${base}-${n}`);
    }
    return out;
}

/** Every broken relative link of one page, as "file:line: target (why)". */
export function brokenLinks(file: string): string[] {
    const text = fs.readFileSync(file, "utf8");
    const broken: string[] = [];
    const where = (n: number) => `${path.relative(ROOT, file)}:${n}`;
    for (const { line, number } of proseLines(text)) {
        for (const m of line.matchAll(/!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)) {
            const target = m[1];
            if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue; // a URL: https:, mailto:, ...
            const [rel, anchor] = target.split("#", 2) as [string, string | undefined];
            const resolved = rel === "" ? file : path.resolve(path.dirname(file), decodeURIComponent(rel));
            if (!fs.existsSync(resolved)) {
                if (!ALLOWED_MISSING.has(resolved)) broken.push(`${where(number)}: ${target} (no such file)`);
                continue;
            }
            if (anchor === undefined) continue;
            if (!resolved.endsWith(".md")) continue; // anchors into source files are line numbers, not checked
            if (!anchors(fs.readFileSync(resolved, "utf8")).has(anchor)) broken.push(`${where(number)}: ${target} (no such heading)`);
        }
    }
    return broken;
}

function pages(): string[] {
    const docs = path.join(ROOT, "docs");
    return [
        path.join(ROOT, "README.md"),
        ...fs.readdirSync(docs).filter((f) => f.endsWith(".md")).sort().map((f) => path.join(docs, f)),
    ];
}

describe("the documentation's relative links", () => {
    it("point at existing files and headings, in README.md and every page of docs/", () => {
        const all = pages();
        assert.ok(all.length >= 10, `pages found: ${all.map((p) => path.relative(ROOT, p)).join(", ")}`);
        assert.deepStrictEqual(all.flatMap(brokenLinks), []);
    });

    it("are all reachable from README.md: every page of docs/ is linked from it", () => {
        const readme = fs.readFileSync(path.join(ROOT, "README.md"), "utf8");
        for (const page of pages().slice(1)) {
            const rel = path.relative(ROOT, page);
            assert.ok(readme.includes(`](${rel})`) || readme.includes(`](${rel}#`), `README.md does not link to ${rel}`);
        }
    });

    it("are checked: a missing file, a missing heading and a link inside code are told apart", () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "docs-links-"));
        try {
            fs.writeFileSync(path.join(dir, "other.md"), "# Other page\n\n## A `code` heading: with punctuation\n\n## Twice\n\n## Twice\n");
            const page = path.join(dir, "page.md");
            fs.writeFileSync(
                page,
                [
                    "# Title",
                    "[ok](other.md) [ok](other.md#other-page) [ok](other.md#a-code-heading-with-punctuation) [ok](other.md#twice-1)",
                    "[ok](#title) [url](https://example.com/missing.md) [ok](./)",
                    "[bad](missing.md) [bad](other.md#nowhere) [bad](#no-heading)",
                    "`[in code](missing-in-code.md)`",
                    "```",
                    "[in a fence](missing-in-fence.md)",
                    "```",
                ].join("\n"),
            );
            assert.deepStrictEqual(
                brokenLinks(page).map((b) => b.replace(/^.*?:(\d+): /, "$1: ")),
                ["4: missing.md (no such file)", "4: other.md#nowhere (no such heading)", "4: #no-heading (no such heading)"],
            );
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });
});

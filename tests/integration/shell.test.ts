/**
 * The pod scripts as shell: shellcheck-clean at its default level, strict mode in every script a container
 * or Patroni runs, and no shell option changed by a file that others source.
 */
import * as assert from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { COMPONENTS, ScriptFolder, scriptPath } from "../scriptFolders";

/** Every script, relative to components/: every `scripts/` folder of the tree, as `npm run build` finds them. */
const all = (function walk(dir: string): string[] {
    return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
        const sub = path.join(dir, e.name);
        if (!e.isDirectory()) return [];
        return e.name === "scripts" ? fs.readdirSync(sub).filter((f) => f.endsWith(".sh")).map((f) => path.relative(COMPONENTS, path.join(sub, f))) : walk(sub);
    });
})(COMPONENTS);
const at = (folder: ScriptFolder, file: string) => path.relative(COMPONENTS, scriptPath(folder, file));
/** What a container, a probe or Patroni runs; everything else is sourced by these. */
const ENTRY_POINTS = [
    at("manual", "entrypoint.sh"), at("common", "probe.sh"), at("manual", "role-labeler.sh"), at("manual", "role-labeler-alive.sh"),
    at("patroni", "patroni.sh"), at("patroni", "patroni-callback.sh"), at("patroni", "patroni-fence.sh"),
    at("backup", "backup-stanza.sh"), at("backup", "backup.sh"), at("backup", "backup-job.sh"), at("backup", "restore.sh"), at("backup", "restore-standby.sh"), at("backup", "archive-get.sh"),
    at("pooler", "pooler.sh"),
];
/** The commands of a script, comments and blank lines left out. */
const commands = (file: string) =>
    fs.readFileSync(path.join(COMPONENTS, file), "utf8").split("\n").map((l) => l.replace(/^\s*#.*$/, "").trim()).filter(Boolean);

describe("the pod scripts as shell", () => {
    it("are found in every scripts/ folder, and the entry points among them", () => {
        assert.ok(all.length >= 25, `only ${all.length} scripts found`);
        for (const file of ENTRY_POINTS) assert.ok(all.includes(file), `${file} is not in a scripts/ folder`);
    });

    it("silence a missing input file where they mean to: the error redirection comes before the input's", () => {
        // bash performs redirections left to right: in `cmd <"$f" 2>/dev/null` it fails to open $f, and says so on the
        // log, before stderr is redirected (every tick of every pod printed one such line for a file that a cluster
        // without a standby source never has).
        const wrong = all.flatMap((file) => commands(file).filter((l) => /<\s*"[^"]+"\s*2>\s*\/dev\/null/.test(l)).map((l) => `${file}: ${l}`));
        assert.deepStrictEqual(wrong, []);
    });

    it("are all shellcheck-clean at its default level", () => {
        const r = spawnSync("shellcheck", ["-x", "-P", "SCRIPTDIR", ...all], { cwd: COMPONENTS, encoding: "utf8" });
        assert.ok(!r.error, `shellcheck could not run (Debian's shellcheck package): ${r.error}`);
        assert.strictEqual(r.status, 0, r.stdout);
    });

    it("run in strict mode wherever a container, probe or Patroni starts them", () => {
        for (const file of ENTRY_POINTS) {
            const strict = fs.readFileSync(path.join(COMPONENTS, file), "utf8").startsWith("#!/bin/sh") ? "set -eu" : "set -euo pipefail";
            assert.ok(commands(file).includes(strict), `${file} does not run "${strict}"`);
        }
    });

    it("call no function that none of them defines", () => {
        // Our functions are snake_case; the only such commands from elsewhere are PostgreSQL's (pg_ctl, pg_rewind, ...).
        // A word in command position (a line's start, or after && || | ; $( ! and the keywords that take a command)
        // that looks like one of ours must be defined in some script: they ship as one flat folder. Read without
        // comments, here-documents, quoted text and case labels, where such words are SQL, settings or patterns.
        const code = (file: string) =>
            stripQuotes(
                fs
                    .readFileSync(path.join(COMPONENTS, file), "utf8")
                    .replace(/<<-?\s*['"]?(\w+)['"]?[^\n]*\n[\s\S]*?\n\s*\1\n/g, (m) => m.slice(0, m.indexOf("\n") + 1))
                    .split("\n")
                    .filter((l) => !/^\s*#/.test(l))
                    .map((l) => l.replace(/\s#\s.*$/, ""))
                    .join("\n"),
            )
                .split("\n")
                .map((l) => l.replace(/^\s*[\w|*\s-]+\)/, ""));
        const defined = new Set(all.flatMap((file) => code(file).flatMap((l) => [...l.matchAll(/^\s*([a-z][a-z0-9_]*)\(\)\s*\{/g)].map((m) => m[1]))));
        const called = (l: string) =>
            [...l.matchAll(/(?:^|&&|\|\||[|;]|\$\(|!\s|\b(?:if|then|do|else|elif|while|until)\s)\s*([a-z]+(?:_[a-z0-9]+)+)(?=\s|$|;)/g)].map((m) => m[1]);
        const calls = all.flatMap((file) => code(file).flatMap((l) => called(l).map((name) => ({ file, name, line: l.trim() }))));
        // The reading finds what it should: the definitions, and calls in each position.
        assert.ok(defined.size > 100, `only ${defined.size} functions found`);
        for (const name of ["local_psql", "reload_server", "decide_gate", "wal_fact"]) assert.ok(calls.some((c) => c.name === name), `no call of ${name} found`);
        const undefinedCalls = calls.filter((c) => !c.name.startsWith("pg_") && !defined.has(c.name)).map((c) => `${c.file}: ${c.name} (${c.line})`);
        assert.deepStrictEqual(undefinedCalls, []);
    });

    it("that others source change no shell option of theirs", () => {
        const run = fs.mkdtempSync(path.join(os.tmpdir(), "rdb-shell-"));
        try {
            for (const file of all.filter((f) => !ENTRY_POINTS.includes(f))) {
                // Options before and after sourcing, in a shell that runs with none of the strict ones on.
                const probe = 'before=$(set +o; shopt -p); . "$1"; after=$(set +o; shopt -p); [ "$before" = "$after" ] || { diff <(echo "$before") <(echo "$after"); exit 1; }';
                const r = spawnSync("bash", ["-c", probe, "probe", path.join(COMPONENTS, file)], {
                    env: { PATH: process.env.PATH, RDB_RUN_DIR: run, RDB_CONFIG_DIR: run, RDB_SECRET_DIR: run },
                    encoding: "utf8",
                });
                assert.strictEqual(r.status, 0, `${file} changes the caller's options:\n${r.stdout}${r.stderr}`);
            }
        } finally {
            fs.rmSync(run, { recursive: true, force: true });
        }
    });
});

/** Shell text with every quoted string emptied (single quotes literal, double quotes with backslash escapes). */
function stripQuotes(text: string): string {
    let out = "";
    let i = 0;
    while (i < text.length) {
        const ch = text[i];
        if (ch === "\\") {
            out += text.slice(i, i + 2);
            i += 2;
        } else if (ch === "'") {
            const end = text.indexOf("'", i + 1);
            i = end < 0 ? text.length : end + 1;
            out += "''";
        } else if (ch === '"') {
            let j = i + 1;
            while (j < text.length && text[j] !== '"') j += text[j] === "\\" ? 2 : 1;
            i = j + 1;
            out += '""';
        } else {
            out += ch;
            i++;
        }
    }
    return out;
}

/**
 * images/postgres/Dockerfile, as far as it can be checked without a container engine: it builds on the
 * component's default image, every tool it adds is pinned and used by its pin, its build-time version checks
 * accept what the real binaries print (Debian's Patroni and pgBackRest, the harness's) and refuse another
 * version, and its RUN instructions are clean POSIX sh, which is what the build runs them with.
 * Not checked here: that the pins resolve (PGDG and PyPI are not reachable from these machines).
 */
import * as assert from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { postgresql } from "../../components/engines/postgres";
import { ROOT } from "./build";
import { scriptPath } from "../scriptFolders";

const DOCKERFILE = path.join(ROOT, "images", "postgres", "Dockerfile");
const PATRONI_SH = scriptPath("patroni", "patroni.sh");

interface Instruction {
    keyword: string;
    /** The arguments with their line continuations kept: still valid sh for a RUN. */
    raw: string;
    /** The arguments on one line, as the builder joins them. */
    joined: string;
}

/** The Dockerfile's instructions, comment lines left out (the builder drops them, also inside a continuation). */
function instructions(text: string): Instruction[] {
    const out: Instruction[] = [];
    let lines: string[] = [];
    for (const line of text.split("\n")) {
        if (/^\s*#/.test(line) || (lines.length === 0 && line.trim() === "")) continue;
        lines.push(line);
        if (line.endsWith("\\")) continue;
        const raw = lines.join("\n");
        const keyword = /^\s*(\S+)/.exec(raw)![1].toUpperCase();
        const body = raw.replace(/^\s*\S+\s*/, "");
        out.push({ keyword, raw: body, joined: body.replace(/\\\n/g, "") });
        lines = [];
    }
    return out;
}

/** Default values of the ARG instructions. */
function argDefaults(all: Instruction[]): Map<string, string> {
    return new Map(all.filter((i) => i.keyword === "ARG").map((i) => i.joined.split("=", 2) as [string, string]));
}

/** "3.0.2-1" -> "3.0.2": the upstream part of an installed Debian package's version. */
function debianUpstream(pkg: string): string {
    const r = spawnSync("dpkg-query", ["-W", "-f", "${Version}", pkg], { encoding: "utf8" });
    assert.strictEqual(r.status, 0, `${pkg} is not installed (the data harness installs it): ${r.stderr}`);
    return /^(?:\d+:)?([^-]+)/.exec(r.stdout)![1];
}

function atLeast(version: string, minimum: string): boolean {
    const a = version.split(".").map(Number);
    const b = minimum.split(".").map(Number);
    for (let i = 0; i < Math.max(a.length, b.length); i++) {
        if ((a[i] ?? 0) !== (b[i] ?? 0)) return (a[i] ?? 0) > (b[i] ?? 0);
    }
    return true;
}

describe("the database image (images/postgres/Dockerfile)", () => {
    const all = instructions(fs.readFileSync(DOCKERFILE, "utf8"));
    const args = argDefaults(all);
    const runs = all.filter((i) => i.keyword === "RUN");
    const runWith = (needle: string) => {
        const found = runs.filter((r) => r.joined.includes(needle));
        assert.strictEqual(found.length, 1, `expected one RUN with ${needle}, found ${found.length}`);
        return found[0].joined;
    };

    it("builds on the component's default image, so the two move together", () => {
        const from = all.filter((i) => i.keyword === "FROM");
        assert.deepStrictEqual(from.map((f) => f.joined), ["docker.io/library/postgres:${POSTGRES_TAG}"]);
        assert.strictEqual(`docker.io/library/postgres:${args.get("POSTGRES_TAG")}`, postgresql.defaultImage);
    });

    it("pins every tool it adds, installs each by its pin and runs as uid 999", () => {
        const minPatroni = /^MIN_VERSION=\$\{RDB_PATRONI_MIN_VERSION:-([0-9.]+)\}$/m.exec(fs.readFileSync(PATRONI_SH, "utf8"))![1];
        const patroni = args.get("PATRONI_VERSION")!;
        assert.match(patroni, /^\d+\.\d+\.\d+$/);
        assert.ok(atLeast(patroni, minPatroni), `Patroni ${patroni} is older than patroni.sh's minimum ${minPatroni}`);
        assert.match(args.get("PGBACKREST_VERSION")!, /^\d+\.\d+(\.\d+)?$/);

        assert.match(runWith("pip install"), /"patroni\[[a-z0-9,]+\]==\$\{PATRONI_VERSION\}"/);
        assert.match(runWith("pgbackrest="), /apt-get install [^&]*"pgbackrest=\$\{PGBACKREST_VERSION\}-\*"/);

        const users = all.filter((i) => i.keyword === "USER");
        assert.deepStrictEqual(users.map((u) => u.joined), ["999"]);
        const afterUser = all.slice(all.indexOf(users[0]) + 1).filter((i) => i.keyword === "RUN").map((r) => r.joined);
        assert.deepStrictEqual(afterUser, ["patroni --version && pgbackrest version"]);
    });

    it("adds no Kubernetes client: nothing of the component calls one, and the Patroni pods hold an API token", () => {
        const text = all.map((i) => i.joined).join("\n");
        assert.doesNotMatch(text, /kubectl|dl\.k8s\.io|KUBECTL_/);
        assert.deepStrictEqual(
            runs.filter((r) => /apt-get install/.test(r.joined) && /\b(kubernetes-client|kubectl)\b/.test(r.joined)),
            [],
        );
    });

    it("checks Patroni's and pgBackRest's versions in the form the binaries print them", () => {
        const cases: [string, RegExp, string][] = [
            ["PATRONI_VERSION", /test "\$\(patroni --version\)" = "[^"$]*\$\{PATRONI_VERSION\}"/, "patroni"],
            ["PGBACKREST_VERSION", /test "\$\(pgbackrest version\)" = "[^"$]*\$\{PGBACKREST_VERSION\}"/, "pgbackrest"],
        ];
        for (const [arg, check, pkg] of cases) {
            const snippet = check.exec(runs.map((r) => r.joined).join("\n"))?.[0];
            assert.ok(snippet, `no build-time check of ${arg}`);
            const run = (version: string) => spawnSync("sh", ["-c", snippet], { env: { PATH: process.env.PATH, [arg]: version }, encoding: "utf8" });
            const installed = debianUpstream(pkg);
            assert.strictEqual(run(installed).status, 0, `${snippet} refuses ${pkg} ${installed}, the installed one`);
            assert.notStrictEqual(run(`${installed}.9`).status, 0, `${snippet} accepts any ${pkg}`);
        }
    });

    it("has RUN instructions that are shellcheck-clean POSIX sh (the build runs them with /bin/sh -c)", () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "rdb-image-"));
        try {
            const files = runs.map((r, i) => {
                const file = path.join(dir, `run-${i + 1}.sh`);
                fs.writeFileSync(file, `#!/bin/sh\n${r.raw}\n`);
                return file;
            });
            const r = spawnSync("shellcheck", ["-s", "sh", ...files], { encoding: "utf8" });
            assert.ok(!r.error, `shellcheck could not run (Debian's shellcheck package): ${r.error}`);
            assert.strictEqual(r.status, 0, r.stdout);
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });
});

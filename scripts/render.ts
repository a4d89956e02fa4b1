/**
 * npm run render -- --stack <name> [--outputs] [--show-secrets]
 *
 * Evaluates the program for Pulumi.<name>.yaml (in this project, or in --dir) under mocks and prints every Kubernetes object as
 * multi-document YAML, secret values masked; with --outputs, the stack outputs as JSON instead, as
 * `pulumi stack output --json` would. A bad config prints one line naming the key, the value and
 * what is allowed, and exits 1 without printing anything on stdout.
 */
import { maskSecrets, toYaml } from "../render/manifests";
import { renderProgram } from "../render/render";
import { PROJECT_DIR, readStackConfig } from "../render/stackConfig";
import { stackOutputsJson } from "../render/stackOutputs";

const USAGE = "usage: npm run render -- --stack <name> [--outputs] [--show-secrets] [--dir <directory with Pulumi.<name>.yaml>]";

function parseArgs(argv: string[]): { stack: string; showSecrets: boolean; outputs: boolean; dir: string } {
    let stack = "";
    let dir = PROJECT_DIR;
    let showSecrets = false;
    let outputs = false;
    for (let i = 0; i < argv.length; i++) {
        const a = argv[i];
        if (a === "--stack" && i + 1 < argv.length) stack = argv[++i];
        else if (a.startsWith("--stack=")) stack = a.slice("--stack=".length);
        else if (a === "--show-secrets") showSecrets = true;
        else if (a === "--outputs") outputs = true;
        else if (a === "--dir" && i + 1 < argv.length) dir = argv[++i];
        else throw new Error(`unknown argument ${JSON.stringify(a)}; ${USAGE}`);
    }
    if (!stack) throw new Error(`missing --stack; ${USAGE}`);
    return { stack, showSecrets, outputs, dir };
}

async function main(): Promise<void> {
    const { stack, showSecrets, outputs, dir } = parseArgs(process.argv.slice(2));
    const rendered = await renderProgram(readStackConfig(stack, dir));
    if (outputs) {
        process.stdout.write(stackOutputsJson(rendered, showSecrets));
        return;
    }
    const manifests = showSecrets ? rendered.manifests : maskSecrets(rendered.manifests);
    process.stdout.write(toYaml(manifests));
}

main().catch((err: unknown) => {
    const message = err instanceof Error ? err.message : String(err);
    process.stderr.write(`error: ${message.split("\n")[0]}\n`);
    process.exit(1);
});

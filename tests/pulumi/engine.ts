/**
 * The real Pulumi engine for the tests, with no Node.js language host: the Automation API's inline programs
 * serve the language runtime from this process and start the CLI with `--client`, so the program runs here,
 * under ts-node, and the CLI needs no `pulumi-language-nodejs` plugin (the Go module proxy does not serve it).
 *
 * Everything stays local: a file backend and PULUMI_HOME under a temporary directory, a passphrase secrets
 * provider, no update check, no plugin download. The plugins the engine starts are "ambient" (found on PATH,
 * before the plugin cache, see the CLI's workspace.GetPluginPath):
 *  - pulumi-resource-kubernetes, built by tools/pulumi/build.sh from the commit the module proxy serves
 *    (PULUMI_KUBERNETES_PROVIDER_VERSION), not from the release @pulumi/kubernetes asks for; the engine says
 *    so in two warnings ("using pulumi-resource-kubernetes from $PATH at ...", "resource plugin kubernetes
 *    is expected to have version >=4.34.2, but has 4.0.0-20260115033456-f47bc2d6f199").
 *  - pulumi-resource-pulumi-nodejs, the dynamic-provider host (the component's change guard), which the
 *    @pulumi/pulumi npm package itself ships as a launcher script in its package directory.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { LocalWorkspace, PulumiCommand, PulumiFn, Stack } from "@pulumi/pulumi/automation";
import { toolVersions, toolsDir } from "../harness/tools";

export const ROOT = path.join(__dirname, "..", "..");

/** Where tools/pulumi/build.sh put the CLI and the provider; throws, naming the script, when it has not run. */
export function enginePaths(): { cliRoot: string; kubernetesBin: string; nodejsDynamicBin: string } {
    const v = toolVersions();
    const cliRoot = path.join(toolsDir(), `pulumi-${v.PULUMI_VERSION}`);
    const kubernetesBin = path.join(toolsDir(), `pulumi-kubernetes-${v.PULUMI_KUBERNETES_PROVIDER_VERSION}`, "bin");
    for (const [dir, what] of [[cliRoot, "the Pulumi CLI"], [path.dirname(kubernetesBin), "the Kubernetes provider"]]) {
        if (!fs.existsSync(path.join(dir, ".built"))) {
            throw new Error(`${what} is not built (${dir}): run tools/pulumi/build.sh`);
        }
    }
    // The launcher in @pulumi/pulumi's package directory; it resolves the dynamic-provider host from the
    // plugin's working directory, the workspace's (engineStack links node_modules there).
    const nodejsDynamicBin = path.dirname(require.resolve("@pulumi/pulumi/package.json"));
    if (!fs.existsSync(path.join(nodejsDynamicBin, "pulumi-resource-pulumi-nodejs"))) {
        throw new Error(`no pulumi-resource-pulumi-nodejs in ${nodejsDynamicBin}`);
    }
    return { cliRoot, kubernetesBin, nodejsDynamicBin };
}

export interface EngineStack {
    stack: Stack;
    /** The temporary directory holding the backend, PULUMI_HOME and whatever the test puts there. */
    dir: string;
    /** Removes the temporary directory. */
    cleanup(): void;
}

/**
 * A stack of an inline program on a fresh local backend. `project` is the Pulumi project name (what
 * `new pulumi.Config()` reads under).
 */
export async function engineStack(project: string, stackName: string, program: PulumiFn): Promise<EngineStack> {
    const { cliRoot, kubernetesBin, nodejsDynamicBin } = enginePaths();
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "rdb-pulumi-"));
    const backend = path.join(dir, "backend");
    const home = path.join(dir, "home");
    // The workspace writes Pulumi.yaml and Pulumi.<stack>.yaml into its directory: not the project's own.
    const work = path.join(dir, "work");
    for (const d of [backend, home, work]) fs.mkdirSync(d);
    fs.symlinkSync(path.join(ROOT, "node_modules"), path.join(work, "node_modules"));
    const envVars: Record<string, string> = {
        PULUMI_HOME: home,
        PULUMI_BACKEND_URL: `file://${backend}`,
        PULUMI_CONFIG_PASSPHRASE: "test-only-passphrase",
        PULUMI_SKIP_UPDATE_CHECK: "true",
        // A missing plugin is an error, not a download.
        PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
        PULUMI_DIY_BACKEND_NO_LEGACY_WARNING: "true",
        PATH: [kubernetesBin, nodejsDynamicBin, process.env.PATH ?? ""].join(path.delimiter),
    };
    const pulumiCommand = await PulumiCommand.get({ root: cliRoot });
    const stack = await LocalWorkspace.createOrSelectStack(
        { projectName: project, stackName, program },
        {
            workDir: work,
            pulumiHome: home,
            pulumiCommand,
            envVars,
            projectSettings: { name: project, runtime: "nodejs", backend: { url: `file://${backend}` } },
            secretsProvider: "passphrase",
        },
    );
    return { stack, dir, cleanup: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

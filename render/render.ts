/**
 * Evaluates the component (or the whole program) under Pulumi mocks and returns what it registered: the
 * Kubernetes manifests, every captured resource and the outputs. No cluster, no Pulumi CLI.
 *
 * Renders run one at a time: Pulumi's mock monitor and config are process-wide.
 */
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { ReplicatedDatabase } from "../components/replicatedDatabase";
import { ReplicatedDatabaseArgs } from "../components/args";
import { OUTPUT_NAMES } from "../components/outputs";
import { CapturedResource, RecordedOptions, StackOutputs, capturingMocks, recordOptions, unwrapSecrets } from "./capture";
import { Manifest, toManifests } from "./manifests";

export interface Rendered {
    manifests: Manifest[];
    resources: CapturedResource[];
    /** The outputs with secrets unwrapped. */
    outputs: Record<string, any>;
    /** Output names whose value is a Pulumi secret. */
    secretOutputs: string[];
}

// Internal to @pulumi/pulumi but stable for years: resolves when every registration RPC has been answered.
// eslint-disable-next-line @typescript-eslint/no-var-requires
const { waitForRPCs } = require("@pulumi/pulumi/runtime/settings") as { waitForRPCs: () => Promise<void> };

let busy = false;
const registeredBeforeFailure = new WeakMap<object, CapturedResource[]>();

/** What a failed render had registered before it threw (the stack itself left out). */
export function registeredBefore(err: unknown): CapturedResource[] | undefined {
    return typeof err === "object" && err !== null ? registeredBeforeFailure.get(err) : undefined;
}

async function run(
    config: Record<string, string>,
    init: () => Record<string, pulumi.Output<any>> | Promise<Record<string, pulumi.Output<any>>>,
    stacks: StackOutputs = {},
    project = "replicated-db",
): Promise<Rendered> {
    if (busy) {
        throw new Error("renders run one at a time (Pulumi's mocks are process-wide)");
    }
    busy = true;
    const resources: CapturedResource[] = [];
    try {
        const options = new Map<string, RecordedOptions>();
        pulumi.runtime.setAllConfig(config);
        await pulumi.runtime.setMocks(capturingMocks(resources, options, stacks), project, "render", false);
        let outputs: Record<string, pulumi.Output<any>> = {};
        await pulumi.runtime.runInPulumiStack(async () => {
            pulumi.runtime.registerStackTransformation(recordOptions(options));
            outputs = await init();
            return {};
        });
        const resolved: Record<string, any> = {};
        const secretOutputs: string[] = [];
        for (const [key, out] of Object.entries(outputs)) {
            if (!pulumi.Output.isInstance(out)) {
                continue;
            }
            const { value, secret } = await unwrapOutput(out);
            resolved[key] = value;
            if (secret) secretOutputs.push(key);
        }
        await waitForRPCs();
        return { manifests: toManifests(resources), resources, outputs: resolved, secretOutputs };
    } catch (err) {
        if (typeof err === "object" && err !== null) {
            registeredBeforeFailure.set(err, resources.filter((r) => r.type !== "pulumi:pulumi:Stack"));
        }
        throw err;
    } finally {
        busy = false;
    }
}

async function unwrapOutput(out: pulumi.Output<any>): Promise<{ value: any; secret: boolean }> {
    const secret = await (out as any).isSecret;
    const value = await new Promise((resolve) => out.apply((v) => resolve(v)));
    return { value: unwrapSecrets(value).value, secret: Boolean(secret) };
}

/** Renders one ReplicatedDatabase with the given args. */
export function renderComponent(name: string, args: ReplicatedDatabaseArgs = {}): Promise<Rendered> {
    return renderComponentWith(ReplicatedDatabase, name, args);
}

/** The same with another build of the class (the compiled package, in its tests). */
export function renderComponentWith(Component: typeof ReplicatedDatabase, name: string, args: ReplicatedDatabaseArgs = {}): Promise<Rendered> {
    return run({}, () => {
        const db = new Component(name, args);
        return Object.fromEntries(OUTPUT_NAMES.map((k) => [k, db[k]]));
    });
}

const PROGRAM = path.join(__dirname, "..", "index.ts");

export interface ProgramOptions {
    /** The program's main module; this project's index.ts by default. */
    program?: string;
    /** Outputs of the stacks the program references, by stack name. */
    stacks?: StackOutputs;
    /** The Pulumi project name, which `new pulumi.Config()` reads under. @default "replicated-db" */
    project?: string;
}

/**
 * Renders a program (this project's index.ts unless told otherwise) with the given stack config
 * (`replicated-db:replicas` -> "2", maps as JSON), as `pulumi up` would evaluate it. The outputs are the
 * program's exports.
 */
export function renderProgram(config: Record<string, string>, options: ProgramOptions = {}): Promise<Rendered> {
    const program = require.resolve(options.program ?? PROGRAM);
    return run(
        config,
        () => {
            // A fresh evaluation per render: the program reads the config at load time.
            delete require.cache[program];
            // eslint-disable-next-line @typescript-eslint/no-var-requires
            const exported = require(program);
            // A program may export an async function, as Pulumi allows: its result is the stack's outputs.
            return typeof exported === "function" ? exported() : exported;
        },
        options.stacks,
        options.project,
    );
}

/**
 * Pulumi mocks that record every resource a program registers, with its inputs, instead of creating it.
 * Shared by the offline render (`npm run render`), the unit tests and the data-plane harness, so that all
 * three look at exactly what `pulumi up` would send to the engine.
 */
import * as crypto from "crypto";
import * as pulumi from "@pulumi/pulumi";
import { issueTls } from "./tlsIssuer";

/** One registered resource: its Pulumi type token, resource name and inputs (secrets unwrapped). */
export interface CapturedResource {
    type: string;
    name: string;
    inputs: Record<string, any>;
    /** Property paths whose value was a Pulumi secret. */
    secretPaths: string[];
    /** True for `Resource.get` reads: the object is not ours, only looked up. */
    read: boolean;
    /** False for component resources. */
    custom: boolean;
    /** The options the program passed (recorded by a stack transformation; mocks do not see them). */
    options: RecordedOptions;
}

/** The resource options that tests assert on. */
export interface RecordedOptions {
    /** The name of the parent resource; undefined for children of the stack. */
    parent?: string;
    additionalSecretOutputs: string[];
    retainOnDelete: boolean;
    deleteBeforeReplace: boolean;
    ignoreChanges: string[];
    replaceOnChanges: string[];
    /** Names of the explicit dependencies. */
    dependsOn: string[];
}

/** Records every resource's options by `type::name`. */
export function recordOptions(sink: Map<string, RecordedOptions>): pulumi.ResourceTransformation {
    return (args) => {
        const o = args.opts as pulumi.CustomResourceOptions;
        const name = (r: unknown) => (r as { __name?: string } | undefined)?.__name;
        const deps = o.dependsOn === undefined ? [] : Array.isArray(o.dependsOn) ? o.dependsOn : [o.dependsOn];
        sink.set(`${args.type}::${args.name}`, {
            parent: name(o.parent),
            additionalSecretOutputs: [...(o.additionalSecretOutputs ?? [])],
            retainOnDelete: Boolean(o.retainOnDelete),
            deleteBeforeReplace: Boolean(o.deleteBeforeReplace),
            ignoreChanges: [...(o.ignoreChanges ?? [])],
            replaceOnChanges: [...(o.replaceOnChanges ?? [])],
            dependsOn: deps.map((d) => name(d) ?? "?"),
        });
        return undefined;
    };
}

/** The signature Pulumi uses for a serialized secret value. */
const SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270";
const SIG_KEY = "4dabf18193072939515e22adb298388d";

/** Returns a copy of `value` without Pulumi secret wrappers, and the paths where wrappers were. */
export function unwrapSecrets(value: any, path = "", found: string[] = []): { value: any; secretPaths: string[] } {
    const walk = (v: any, p: string): any => {
        if (Array.isArray(v)) {
            return v.map((x, i) => walk(x, `${p}[${i}]`));
        }
        if (v && typeof v === "object") {
            if (v[SIG_KEY] === SECRET_SIG) {
                found.push(p);
                return walk(v.value, p);
            }
            return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, walk(x, p ? `${p}.${k}` : k)]));
        }
        return v;
    };
    return { value: walk(value, path), secretPaths: found };
}

/**
 * A stand-in for random's generator: deterministic per resource name and keepers, so that renders are
 * reproducible and a bumped keeper yields a new value, as it would for real.
 */
export function fakePassword(name: string, inputs: Record<string, any>): string {
    const digest = crypto.createHash("sha256").update(`${name}\0${JSON.stringify(inputs.keepers ?? {})}`).digest("base64");
    return digest.replace(/[^A-Za-z0-9]/g, "").slice(0, Number(inputs.length ?? 32));
}

/**
 * A stand-in for a PEM object of @pulumi/tls: deterministic per resource name and inputs, with the PEM armour
 * of its type, so that a changed input (new DNS names) yields a new value as it would for real. Not a valid
 * key or certificate: a server given it would refuse to start.
 */
export function fakePem(label: string, name: string, inputs: Record<string, any>): string {
    const digest = crypto.createHash("sha256").update(`${label}\0${name}\0${JSON.stringify(inputs)}`).digest("base64");
    return `-----BEGIN ${label}-----\n${digest}\n-----END ${label}-----\n`;
}

/** Real keys and certificates instead of the placeholders (render/tlsIssuer.ts): for the data-plane harness,
 * which sets it before it renders (read at each registration, not at load). */
function realTls(): boolean {
    return process.env.RDB_RENDER_REAL_TLS === "1";
}

/** What real TLS resources computed, by type, name and inputs: a render again with the same inputs gets the
 * same keys and certificates, as Pulumi keeps them in its state (a re-render in the harness must not switch
 * the CA under running servers); new inputs (a scale-up's DNS names) issue new ones, as the provider would. */
const issued = new Map<string, Record<string, string>>();

function issueOnce(type: string, name: string, inputs: Record<string, any>): Record<string, string> {
    const key = `${type}\0${name}\0${JSON.stringify(inputs)}`;
    let out = issued.get(key);
    if (!out) {
        out = issueTls(type, inputs);
        issued.set(key, out);
    }
    return out;
}

/** What the @pulumi/tls resources compute, by type: output name to PEM label. */
const TLS_OUTPUTS: Record<string, Record<string, string>> = {
    "tls:index/privateKey:PrivateKey": { privateKeyPem: "EC PRIVATE KEY", publicKeyPem: "PUBLIC KEY" },
    "tls:index/selfSignedCert:SelfSignedCert": { certPem: "CERTIFICATE" },
    "tls:index/certRequest:CertRequest": { certRequestPem: "CERTIFICATE REQUEST" },
    "tls:index/locallySignedCert:LocallySignedCert": { certPem: "CERTIFICATE" },
};

/** Mocks that append every registration to `sink`. */
/** Outputs of other stacks, by stack name, for programs that read them through a StackReference. */
export type StackOutputs = Record<string, Record<string, unknown>>;

export function capturingMocks(sink: CapturedResource[], options: Map<string, RecordedOptions>, stacks: StackOutputs = {}): pulumi.runtime.Mocks {
    const none: RecordedOptions = {
        additionalSecretOutputs: [], retainOnDelete: false, deleteBeforeReplace: false, ignoreChanges: [], replaceOnChanges: [], dependsOn: [],
    };
    return {
        newResource(args: pulumi.runtime.MockResourceArgs) {
            const { value, secretPaths } = unwrapSecrets(args.inputs);
            const read = args.id !== undefined && args.id !== "";
            const recorded = options.get(`${args.type}::${args.name}`) ?? none;
            sink.push({ type: args.type, name: args.name, inputs: value, secretPaths, read, custom: args.custom ?? true, options: recorded });
            const state: Record<string, any> = { ...value };
            if (args.type === "random:index/randomPassword:RandomPassword") {
                state.result = fakePassword(args.name, value);
            }
            if (realTls()) {
                Object.assign(state, issueOnce(args.type, args.name, value));
            } else {
                for (const [output, label] of Object.entries(TLS_OUTPUTS[args.type] ?? {})) {
                    state[output] = fakePem(label, args.name, value);
                }
            }
            if (read && args.type === "kubernetes:core/v1:Secret") {
                // A Secret the user brought: stand in for its data so that outputs can be computed (the
                // passwords of a credentials Secret, the CA certificate of a TLS Secret).
                const keys = ["superuser-password", "replication-password", "app-password", "monitoring-password"];
                state.data = Object.fromEntries(keys.map((k) => [k, Buffer.from(`existing-${k}`).toString("base64")]));
                state.data["ca.crt"] = Buffer.from(fakePem("CERTIFICATE", `${args.name}-ca`, {})).toString("base64");
            }
            if (args.type === "pulumi:pulumi:StackReference") {
                const outputs = stacks[value.name];
                if (!outputs) {
                    throw new Error(`no outputs given for the referenced stack ${JSON.stringify(value.name)}`);
                }
                // As the service does: every output comes back, the secret ones named as such.
                state.outputs = outputs;
                state.secretOutputNames = Object.keys(outputs).filter((k) => /password|connection|url|uri/i.test(k));
            }
            return { id: read ? args.id! : `${args.name}-id`, state };
        },
        call(args: pulumi.runtime.MockCallArgs) {
            return args.inputs;
        },
    };
}

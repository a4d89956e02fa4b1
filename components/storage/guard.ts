/**
 * A guard against changes a running cluster cannot take. Pulumi programs do not see what the last
 * deployment applied, but a provider's `check` does (its old inputs): this tiny dynamic resource compares
 * the volume size and the PostgreSQL major version with the last deployment's, and fails the preview,
 * before anything changes, on a shrink or a major-version change. The StatefulSet and the claims depend
 * on it.
 */
import * as pulumi from "@pulumi/pulumi";
import { BuildContext } from "../core/context";

export interface GuardState {
    storageSize: string;
    /** The engine's major version of the image, or -1 when the tag does not say. */
    major: number;
    /** The user opted into the documented major-version upgrade. */
    allowMajorChange: boolean;
}

export interface GuardFailure {
    property: string;
    reason: string;
}

/** Bytes of a Kubernetes storage quantity (a subset of validation.parseQuantity, kept self-contained
 * because this function is serialized into the dynamic provider). */
function bytes(q: string): number | undefined {
    const m = /^([0-9]+(?:\.[0-9]+)?)(Ki|Mi|Gi|Ti|Pi|Ei|k|M|G|T|P|E)?$/.exec(q);
    if (!m) return undefined;
    const binary: Record<string, number> = { Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, Pi: 2 ** 50, Ei: 2 ** 60 };
    const decimal: Record<string, number> = { "": 1, k: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15, E: 1e18 };
    const unit = m[2] ?? "";
    return Number(m[1]) * (binary[unit] ?? decimal[unit]);
}

/** What is wrong with going from the deployed state to the new one (nothing on a first deployment). */
export function checkChange(olds: Partial<GuardState>, news: GuardState): GuardFailure[] {
    const failures: GuardFailure[] = [];
    if (olds.storageSize !== undefined) {
        const before = bytes(olds.storageSize);
        const after = bytes(news.storageSize);
        if (before !== undefined && after !== undefined && after < before) {
            failures.push({
                property: "storageSize",
                reason: `invalid storageSize: "${news.storageSize}" (allowed: at least the deployed "${olds.storageSize}": volumes grow in place but never shrink)`,
            });
        }
    }
    if (!news.allowMajorChange && olds.major !== undefined && olds.major >= 0 && news.major >= 0 && olds.major !== news.major) {
        failures.push({
            property: "image",
            reason:
                `invalid image: major version ${news.major} (allowed: the deployed major version ${olds.major}; a server cannot open ` +
                "another major's data directory: dump the data, then set allowMajorVersionChange and restore it, or deploy a second cluster; see the README's Day-2 operations)",
        });
    }
    return failures;
}

const provider: pulumi.dynamic.ResourceProvider = {
    async check(olds: any, news: any) {
        return { inputs: news, failures: checkChange(olds ?? {}, news) };
    },
    async diff(_id: string, olds: any, news: any) {
        return { changes: olds.storageSize !== news.storageSize || olds.major !== news.major || olds.allowMajorChange !== news.allowMajorChange };
    },
    async create(inputs: any) {
        return { id: "guard", outs: inputs };
    },
    async update(_id: string, _olds: any, news: any) {
        return { outs: news };
    },
};

class ChangeGuard extends pulumi.dynamic.Resource {
    constructor(name: string, state: GuardState, opts: pulumi.CustomResourceOptions) {
        super(provider, name, state, opts, "replicated-db", "ChangeGuard");
    }
}

export function createGuard(ctx: BuildContext): pulumi.Resource {
    const state: GuardState = {
        storageSize: ctx.args.storageSize,
        major: ctx.engine.majorVersion(ctx.args.image) ?? -1,
        allowMajorChange: ctx.args.allowMajorVersionChange,
    };
    return new ChangeGuard(`${ctx.name}-guard`, state, { parent: ctx.parent });
}

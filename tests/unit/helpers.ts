/** Small lookups over a render, shared by the unit tests. */
import * as assert from "assert";
import { Manifest } from "../../render/manifests";
import { ReplicatedDatabaseArgs } from "../../components/args";
import { Rendered, renderComponent as renderAfresh } from "../../render/render";
import { CapturedResource } from "../../render/capture";

export function ofKind(r: Rendered, kind: string): Manifest[] {
    return r.manifests.filter((m) => m.kind === kind);
}

/** The one object of a kind and name; fails the test if there is not exactly one. */
export function find(r: Rendered, kind: string, name?: string): Manifest {
    const found = ofKind(r, kind).filter((m) => name === undefined || m.metadata.name === name);
    assert.strictEqual(found.length, 1, `expected one ${kind}${name ? ` ${name}` : ""}, found ${found.length}`);
    return found[0];
}

/** The captured resource (with its options) by Pulumi resource name. */
export function resource(r: Rendered, name: string): CapturedResource {
    const found = r.resources.filter((x) => x.name === name);
    assert.strictEqual(found.length, 1, `expected one resource named ${name}, found ${found.length}`);
    return found[0];
}

export function container(sts: Manifest, name: string): any {
    const c = [...(sts.spec.template.spec.initContainers ?? []), ...sts.spec.template.spec.containers].find((x: any) => x.name === name);
    assert.ok(c, `no container ${name}`);
    return c;
}

export function env(c: any, name: string): any {
    const e = c.env.find((x: any) => x.name === name);
    assert.ok(e, `no env ${name} in ${c.name}`);
    return e;
}

/** A dev-like config: its own StorageClass and hostPath static volumes. */
export const STATIC_ARGS = {
    replicas: 2,
    storageSize: "1Gi",
    createStorageClass: true,
    staticVolumes: { type: "hostPath", basePath: "/srv/db" },
};

/** Renders by name and args JSON, shared by every unit test file of this run. */
const shared = new Map<string, Promise<Rendered>>();

/**
 * render/render's renderComponent, memoised for the whole unit run: tests with the same name and args share
 * one render, and each gets its own deep copy, so that one test's edits cannot reach another. Args that
 * JSON cannot key exactly (undefined, functions, Outputs, class instances) render afresh every time, and so
 * does a failed render. Not for a test that observes the rendering itself (its warnings, its timing).
 */
export async function renderComponent(name: string, args: ReplicatedDatabaseArgs = {}): Promise<Rendered> {
    if (!isPlainData(args)) {
        return renderAfresh(name, args);
    }
    const key = JSON.stringify([name, args]);
    let render = shared.get(key);
    if (!render) {
        render = renderAfresh(name, args);
        shared.set(key, render);
        render.catch(() => shared.delete(key));
    }
    return structuredClone(await render);
}

/** True when JSON.stringify keeps every bit of the value, so that equal keys mean equal args. */
function isPlainData(v: unknown): boolean {
    if (v === null || typeof v === "string" || typeof v === "boolean") return true;
    if (typeof v === "number") return Number.isFinite(v) && !Object.is(v, -0);
    // Spreading turns holes into undefined, which is refused.
    if (Array.isArray(v)) return [...v].every(isPlainData);
    if (typeof v === "object") {
        const proto = Object.getPrototypeOf(v);
        return (proto === Object.prototype || proto === null) && Object.values(v as object).every(isPlainData);
    }
    return false;
}

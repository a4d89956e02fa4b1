/** Small lookups over a render, shared by the unit tests. */
import * as assert from "assert";
import { Manifest } from "../../render/manifests";
import { Rendered } from "../../render/render";
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

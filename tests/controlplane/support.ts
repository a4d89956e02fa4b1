/** What the control-plane tests share: namespaces, CRDs, applying with the real kubectl, reading back. */
import * as fs from "fs";
import * as path from "path";
import { ControlPlane } from "../harness/controlplane";
import { Manifest } from "../../render/manifests";
import { Level } from "../variants";

export const FIELD_MANAGER = "replicated-db-test";

/** A namespace whose pods Pod Security admission holds to `level` (enforce; the version: this server's). */
export async function createNamespace(cp: ControlPlane, name: string, level: Level): Promise<void> {
    const r = await cp.request("POST", "/api/v1/namespaces", {
        apiVersion: "v1",
        kind: "Namespace",
        metadata: { name, labels: { "pod-security.kubernetes.io/enforce": level, "pod-security.kubernetes.io/enforce-version": "latest" } },
    });
    if (r.status !== 201) throw new Error(`namespace ${name}: ${r.status} ${JSON.stringify(r.body)}`);
    // Admission refuses a pod whose ServiceAccount does not exist yet; the pooler's is the namespace's
    // "default", which the ServiceAccount controller creates a moment after the namespace.
    await eventually(`${name}: ServiceAccount default`, async () =>
        (await cp.request("GET", `/api/v1/namespaces/${name}/serviceaccounts/default`)).status === 200 ? true : undefined);
}

/** The upstream CRDs (tools/controlplane/build.sh), installed and established. */
export async function installCrds(cp: ControlPlane): Promise<string[]> {
    const files = fs.readdirSync(cp.crdDir).filter((f) => f.endsWith(".yaml")).sort();
    await cp.kubectl(["apply", "--server-side", "--field-manager", FIELD_MANAGER, ...files.flatMap((f) => ["-f", path.join(cp.crdDir, f)])]);
    await cp.kubectl(["wait", "--for", "condition=Established", "--timeout", "60s", "crd", "--all"]);
    return files;
}

let serial = 0;

/** Writes the manifests as one v1 List, for `kubectl ... -f`. */
export function listFile(cp: ControlPlane, manifests: Manifest[]): string {
    const file = path.join(cp.dir, `objects-${++serial}.json`);
    fs.writeFileSync(file, JSON.stringify({ apiVersion: "v1", kind: "List", items: manifests }));
    return file;
}

/** `kubectl apply --server-side` of every object (the real kubectl, the real API); stored objects back. */
export async function applyAndReadBack(cp: ControlPlane, manifests: Manifest[]): Promise<Manifest[]> {
    const file = listFile(cp, manifests);
    await cp.kubectl(["apply", "--server-side", "--field-manager", FIELD_MANAGER, "-f", file]);
    const got = JSON.parse((await cp.kubectl(["get", "-f", file, "-o", "json"])).stdout);
    // One object comes back as itself, several as a List, in the file's order.
    return got.kind === "List" ? got.items : [got];
}

/**
 * The server's normalisations the comparison allows, each one a documented rewrite of what was sent
 * into what is stored with the same meaning, and nothing else:
 */
export const NORMALISATIONS = {
    /** A Secret's stringData is write-only: the API server merges it into data, base64-encoded. */
    secretStringData: "Secret stringData -> data (base64)",
    /** Quantities are stored in canonical form ("0.5" -> "500m", "1024Mi" -> "1Gi"); same value. */
    quantity: "quantity in canonical form",
    /** Empty maps and lists are omitted from the stored object (omitempty); absent means empty. */
    emptyOmitted: "empty map or list omitted",
    /** An env var's `value: ""` is omitted (omitempty): the container gets the variable, empty, either way. */
    emptyEnvValue: "env value \"\" omitted",
} as const;

export type Normalisation = keyof typeof NORMALISATIONS;

export interface Difference {
    path: string;
    sent: unknown;
    stored: unknown;
}

/** Kubernetes quantity in base units, or undefined when `v` is not one. */
export function quantityValue(v: unknown): number | undefined {
    if (typeof v === "number") return v;
    if (typeof v !== "string") return undefined;
    const m = /^([+-]?[0-9.]+)(m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei|e[0-9]+)?$/.exec(v);
    if (!m) return undefined;
    const n = Number(m[1]);
    const suffix = m[2] ?? "";
    const factors: Record<string, number> = {
        "": 1, m: 1e-3, k: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15, E: 1e18,
        Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, Pi: 2 ** 50, Ei: 2 ** 60,
    };
    if (suffix.startsWith("e")) return n * 10 ** Number(suffix.slice(1));
    return n * factors[suffix];
}

// Where the API has quantities: container resources, PV capacity, claim requests, emptyDir sizeLimit.
const QUANTITY_PATH = /\.(requests|limits|capacity)\.[^.]+$|\.sizeLimit$/;

/**
 * Every field of `sent` must be in `stored` with the same meaning (`sent` ⊆ `stored`); the server may add
 * fields (defaults, status, metadata). Returns what differs; `used` collects the normalisations applied.
 */
export function notStored(sent: unknown, stored: unknown, used: Set<Normalisation>, at = ""): Difference[] {
    if (Array.isArray(sent)) {
        if (stored === undefined && sent.length === 0) {
            used.add("emptyOmitted");
            return [];
        }
        if (!Array.isArray(stored) || stored.length !== sent.length) return [{ path: at, sent, stored }];
        return sent.flatMap((s, i) => notStored(s, stored[i], used, `${at}[${i}]`));
    }
    if (sent !== null && typeof sent === "object") {
        if (stored === undefined && Object.keys(sent).length === 0) {
            used.add("emptyOmitted");
            return [];
        }
        if (stored === null || typeof stored !== "object" || Array.isArray(stored)) return [{ path: at, sent, stored }];
        return Object.entries(sent).flatMap(([k, v]) => notStored(v, (stored as any)[k], used, `${at}.${k}`));
    }
    if (sent === stored) return [];
    if (sent === "" && stored === undefined && /\.env\[\d+\]\.value$/.test(at)) {
        used.add("emptyEnvValue");
        return [];
    }
    if (QUANTITY_PATH.test(at)) {
        const a = quantityValue(sent);
        if (a !== undefined && a === quantityValue(stored)) {
            used.add("quantity");
            return [];
        }
    }
    return [{ path: at, sent, stored }];
}

/** The same for one whole object, with the Secret rewrite applied first. */
export function objectNotStored(sent: Manifest, stored: Manifest, used: Set<Normalisation>): Difference[] {
    let expected: any = sent;
    if (sent.kind === "Secret" && sent.stringData) {
        const { stringData, ...rest } = sent;
        const data = { ...(sent.data ?? {}) };
        for (const [k, v] of Object.entries(stringData as Record<string, string>)) data[k] = Buffer.from(v, "utf8").toString("base64");
        expected = { ...rest, data };
        used.add("secretStringData");
    }
    return notStored(expected, stored, used);
}

/** Waits for `check` to return a value (not undefined), polling; throws with `what` after the timeout. */
export async function eventually<T>(what: string, check: () => Promise<T | undefined>, timeoutMs = 30000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    let last: unknown;
    while (Date.now() < deadline) {
        try {
            const v = await check();
            if (v !== undefined) return v;
        } catch (err) {
            last = err;
        }
        await new Promise((resolve) => setTimeout(resolve, 250));
    }
    throw new Error(`${what}: not within ${timeoutMs / 1000} s${last ? ` (last error: ${last})` : ""}`);
}

/** The namespace's events with reason `reason`, as "object: message". */
export async function events(cp: ControlPlane, namespace: string, reason: string): Promise<string[]> {
    const r = await cp.request("GET", `/api/v1/namespaces/${namespace}/events?fieldSelector=reason%3D${reason}`);
    if (r.status !== 200) throw new Error(`events in ${namespace}: ${r.status}`);
    return r.body.items.map((e: any) => `${e.involvedObject.kind}/${e.involvedObject.name}: ${e.message}`);
}

/** The namespace's pods' names, sorted. */
export async function podNames(cp: ControlPlane, namespace: string): Promise<string[]> {
    const r = await cp.request("GET", `/api/v1/namespaces/${namespace}/pods`);
    if (r.status !== 200) throw new Error(`pods in ${namespace}: ${r.status}`);
    return r.body.items.map((p: any) => p.metadata.name).sort();
}

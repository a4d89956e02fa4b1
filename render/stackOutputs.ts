/** The program's outputs as `pulumi stack output --json` prints them: keys sorted, secrets masked unless shown. */
import { MASK } from "./manifests";
import { Rendered } from "./render";

export function stackOutputsJson(rendered: Pick<Rendered, "outputs" | "secretOutputs">, showSecrets: boolean): string {
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(rendered.outputs).sort()) {
        out[key] = !showSecrets && rendered.secretOutputs.includes(key) ? MASK : rendered.outputs[key];
    }
    return `${JSON.stringify(out, null, 2)}\n`;
}

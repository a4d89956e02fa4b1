/**
 * The stack variants of tests/variants.ts (declared there once), each rendered at most once per unit run into
 * its control-plane namespace: the schema check (schema.test.ts), the YAML print (render-yaml.test.ts) and the
 * scratch limits (pod-security.test.ts) run over them.
 */
import { Rendered } from "../../render/render";
import { VARIANTS, namespaceOf } from "../variants";

const rendered = new Map<string, Promise<Rendered>>();

export const STACK_VARIANTS: { what: string; render: () => Promise<Rendered> }[] = VARIANTS.map((v) => ({
    what: v.id,
    render: () => {
        let r = rendered.get(v.id);
        if (!r) {
            r = v.render(namespaceOf(v));
            rendered.set(v.id, r);
        }
        return r;
    },
}));

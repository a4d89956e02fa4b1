/** Reads a Pulumi.<stack>.yaml into the flat config a program sees (values as strings, maps as JSON). */
import * as fs from "fs";
import * as path from "path";
import { parse } from "yaml";

export const PROJECT_DIR = path.join(__dirname, "..");

export function stackFile(stack: string, dir = PROJECT_DIR): string {
    return path.join(dir, `Pulumi.${stack}.yaml`);
}

export function readStackConfig(stack: string, dir = PROJECT_DIR): Record<string, string> {
    if (!/^[A-Za-z0-9_.-]+$/.test(stack)) {
        throw new Error(`invalid --stack: ${JSON.stringify(stack)} (allowed: a stack name such as "dev")`);
    }
    const file = stackFile(stack, dir);
    if (!fs.existsSync(file)) {
        const stacks = fs.readdirSync(dir).filter((f) => /^Pulumi\..+\.yaml$/.test(f)).map((f) => f.slice(7, -5));
        throw new Error(`invalid --stack: ${JSON.stringify(stack)} (allowed: one of ${stacks.join(", ")}; no ${path.basename(file)})`);
    }
    const doc = parse(fs.readFileSync(file, "utf8")) ?? {};
    const config: Record<string, unknown> = doc.config ?? {};
    const out: Record<string, string> = {};
    for (const [key, value] of Object.entries(config)) {
        if (value && typeof value === "object" && "secure" in (value as object)) {
            throw new Error(`invalid ${key}: an encrypted value (allowed: plain values only; the offline render cannot decrypt secrets)`);
        }
        out[key] = typeof value === "string" ? value : JSON.stringify(value);
    }
    return out;
}

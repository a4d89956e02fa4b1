/**
 * The package build (`npm run build`: components/ compiled into lib/ with the pod scripts), made once per
 * integration run and shared by every test. A root hook (.mocharc.integration.json requires this file)
 * builds it before the first test, so that the package tests (the examples, which import the component as
 * the package "replicated-db") meet what `npm pack` ships. Tests that use lib/ directly also call buildOnce(),
 * which returns at once after the first call.
 */
import { execFileSync } from "child_process";
import * as path from "path";

export const ROOT = path.join(__dirname, "..", "..");
export const LIB = path.join(ROOT, "lib");

let built = false;

/** Builds lib/ unless this run already has; returns its path. */
export function buildOnce(): string {
    if (!built) {
        try {
            execFileSync(process.execPath, [path.join(ROOT, "scripts", "build.js")], { stdio: "pipe", encoding: "utf8" });
        } catch (err) {
            // tsc reports its errors on stdout, which execFileSync leaves out of its message.
            const e = err as { message: string; stdout?: string; stderr?: string };
            throw new Error(`npm run build failed: ${e.message}\n${e.stdout ?? ""}${e.stderr ?? ""}`);
        }
        built = true;
    }
    return LIB;
}

export const mochaHooks = {
    beforeAll(this: Mocha.Context): void {
        this.timeout(180000);
        buildOnce();
    },
};

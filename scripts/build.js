// npm run build: compiles components/ into lib/ (JavaScript and .d.ts) and copies the pod scripts, which
// the engine reads from disk next to its compiled module to ship them in a ConfigMap.
"use strict";
const { execFileSync } = require("child_process");
const fs = require("fs");
const path = require("path");

const root = path.join(__dirname, "..");
const outDir = process.argv[2] ? path.resolve(process.argv[2]) : path.join(root, "lib");
fs.rmSync(outDir, { recursive: true, force: true });
execFileSync(process.execPath, [require.resolve("typescript/bin/tsc"), "-p", path.join(root, "tsconfig.build.json"), "--outDir", outDir], {
    stdio: "inherit",
});
for (const engine of fs.readdirSync(path.join(root, "components", "engines"))) {
    const scripts = path.join(root, "components", "engines", engine, "scripts");
    if (fs.existsSync(scripts)) {
        fs.cpSync(scripts, path.join(outDir, "engines", engine, "scripts"), { recursive: true });
    }
}

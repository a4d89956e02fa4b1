// npm run build: compiles components/ into lib/ (JavaScript and .d.ts) and copies the pod scripts (every
// `scripts/` folder under components/), which the component reads from disk next to its compiled modules to
// ship them in ConfigMaps.
"use strict";
const { execFileSync } = require("child_process");
const fs = require("fs");
const path = require("path");

const root = path.join(__dirname, "..");
const components = path.join(root, "components");
const outDir = process.argv[2] ? path.resolve(process.argv[2]) : path.join(root, "lib");
fs.rmSync(outDir, { recursive: true, force: true });
execFileSync(process.execPath, [require.resolve("typescript/bin/tsc"), "-p", path.join(root, "tsconfig.build.json"), "--outDir", outDir], {
    stdio: "inherit",
});
/** The `scripts/` folders under dir, relative to components/. */
function scriptFolders(dir) {
    return fs.readdirSync(dir, { withFileTypes: true }).filter((e) => e.isDirectory()).flatMap((e) => {
        const sub = path.join(dir, e.name);
        return e.name === "scripts" ? [path.relative(components, sub)] : scriptFolders(sub);
    });
}
for (const folder of scriptFolders(components)) {
    fs.cpSync(path.join(components, folder), path.join(outDir, folder), { recursive: true });
}

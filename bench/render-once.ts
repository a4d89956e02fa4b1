/**
 * One `npm run render -- --stack dev` evaluation, timed in-process (from after the render modules' import), for
 * bench/program.ts; of the checkout given as the first argument, this one by default.
 */
import * as path from "path";

const root = process.argv[2] ?? path.join(__dirname, "..");
/* eslint-disable @typescript-eslint/no-var-requires */
const { renderProgram } = require(path.join(root, "render", "render")) as typeof import("../render/render");
const { readStackConfig } = require(path.join(root, "render", "stackConfig")) as typeof import("../render/stackConfig");
const { maskSecrets, toYaml } = require(path.join(root, "render", "manifests")) as typeof import("../render/manifests");
/* eslint-enable @typescript-eslint/no-var-requires */

const cpu0 = process.cpuUsage();
const t0 = process.hrtime.bigint();
renderProgram(readStackConfig("dev")).then((r) => {
    const yaml = toYaml(maskSecrets(r.manifests));
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    const cpu = process.cpuUsage(cpu0);
    process.stdout.write(
        JSON.stringify({ ms, cpuMs: (cpu.user + cpu.system) / 1000, rssMb: process.resourceUsage().maxRSS / 1024, resources: r.resources.length, bytes: yaml.length }) + "\n",
    );
});

/** One `npm run render -- --stack dev` evaluation, timed in-process, for bench/program.ts. */
import { renderProgram } from "../render/render";
import { readStackConfig } from "../render/stackConfig";
import { maskSecrets, toYaml } from "../render/manifests";

const t0 = process.hrtime.bigint();
renderProgram(readStackConfig("dev")).then((r) => {
    const yaml = toYaml(maskSecrets(r.manifests));
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    process.stdout.write(JSON.stringify({ ms, rssMb: process.resourceUsage().maxRSS / 1024, resources: r.resources.length, bytes: yaml.length }) + "\n");
});

import * as fs from "fs";
import { Cluster, sleep } from "../harness/cluster";
import { PATRONI_IMAGE } from "../harness/patroni";
(async () => {
    const c = new Cluster({ args: { replicas: 1, failover: "patroni", image: PATRONI_IMAGE }, env: { PATRONI_LOG_LEVEL: "DEBUG" } });
    await c.render();
    c.start(0);
    await sleep(15000);
    fs.copyFileSync(c.logFile(0), "/tmp/dbg/db-0.log");
    await c.cleanup();
})().catch((e) => { console.error(e); process.exit(1); });

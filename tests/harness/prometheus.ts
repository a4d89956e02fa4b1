/**
 * A real Prometheus (Debian's `prometheus` binary) for a harness cluster: a temporary directory, short scrape and
 * evaluation intervals, the rendered alert rules (the `<cluster>-alert-rules` ConfigMap), and a scrape job derived
 * from the rendered pod template as Prometheus's usual `kubernetes-pods` job reads it: the pods whose
 * `prometheus.io/scrape` is "true", at their address and `prometheus.io/port`, on `prometheus.io/path`, labelled
 * `namespace` and `pod`. Only the discovery differs: static targets at the pods' addresses. Every 2 s
 * by default, not less: postgres_exporter takes a second to answer (`pg_up 0`) while its server is down.
 */
import { ChildProcess, spawn } from "child_process";
import * as fs from "fs";
import * as http from "http";
import * as path from "path";
import { Cluster, sleep } from "./cluster";
import { podAddress } from "./pod";

export const PROMETHEUS_ADDRESS = "127.0.0.1:9090";

export interface Alert {
    labels: Record<string, string>;
    annotations: Record<string, string>;
    state: "pending" | "firing";
    activeAt: string;
    value: string;
}

export interface Sample {
    metric: Record<string, string>;
    value: number;
}

export class Prometheus {
    private proc?: ChildProcess;
    readonly dir: string;

    constructor(private readonly c: Cluster, private readonly intervalSeconds = 2) {
        this.dir = path.join(c.base, "prometheus");
    }

    /** The scrape job and rule files, from the render. */
    config(): { config: object; rules: Record<string, string> } {
        const template = this.c.objects.statefulSet.spec.template;
        const a = template.metadata.annotations ?? {};
        if (a["prometheus.io/scrape"] !== "true") throw new Error("the pod template asks for no scrape (prometheus.io/scrape)");
        const namespace = this.c.objects.statefulSet.metadata.namespace ?? "default";
        const rules = this.c.objects.configMaps.get(`${this.c.name}-alert-rules`);
        if (!rules) throw new Error(`the render has no ConfigMap ${this.c.name}-alert-rules`);
        const every = `${this.intervalSeconds}s`;
        return {
            config: {
                global: { scrape_interval: every, evaluation_interval: every, scrape_timeout: every },
                rule_files: Object.keys(rules).map((f) => path.join(this.dir, "rules", f)),
                scrape_configs: [
                    {
                        job_name: "kubernetes-pods",
                        metrics_path: a["prometheus.io/path"] ?? "/metrics",
                        static_configs: [...this.c.pods.keys()].sort().map((i) => ({
                            targets: [`${podAddress(i)}:${a["prometheus.io/port"]}`],
                            labels: { namespace, pod: `${this.c.name}-${i}` },
                        })),
                    },
                ],
            },
            rules,
        };
    }

    async start(): Promise<void> {
        const { config, rules } = this.config();
        fs.mkdirSync(path.join(this.dir, "rules"), { recursive: true });
        for (const [file, text] of Object.entries(rules)) fs.writeFileSync(path.join(this.dir, "rules", file), text);
        fs.writeFileSync(path.join(this.dir, "prometheus.yml"), JSON.stringify(config, null, 2));
        const out = fs.openSync(path.join(this.dir, "prometheus.log"), "a");
        this.proc = spawn(
            "prometheus",
            [
                `--config.file=${path.join(this.dir, "prometheus.yml")}`,
                `--storage.tsdb.path=${path.join(this.dir, "data")}`,
                `--web.listen-address=${PROMETHEUS_ADDRESS}`,
                "--storage.tsdb.retention.time=1h",
            ],
            { stdio: ["ignore", out, out], detached: true },
        );
        fs.closeSync(out);
        const deadline = Date.now() + 60000;
        while (Date.now() < deadline) {
            try {
                if ((await get("/-/ready")).startsWith("Prometheus Server is Ready")) return;
            } catch {
                /* not listening yet */
            }
            await sleep(250);
        }
        throw new Error(`Prometheus did not become ready: ${this.log()}`);
    }

    log(): string {
        return fs.readFileSync(path.join(this.dir, "prometheus.log"), "utf8").split("\n").slice(-20).join("\n");
    }

    /** An instant query's samples. */
    async query(expr: string): Promise<Sample[]> {
        const body = JSON.parse(await get(`/api/v1/query?query=${encodeURIComponent(expr)}`));
        if (body.status !== "success") throw new Error(`query ${expr}: ${JSON.stringify(body)}`);
        return body.data.result.map((r: any) => ({ metric: r.metric, value: Number(r.value[1]) }));
    }

    /** The alerts Prometheus holds, pending and firing (/api/v1/alerts). */
    async alerts(): Promise<Alert[]> {
        const body = JSON.parse(await get("/api/v1/alerts"));
        return body.data.alerts;
    }

    /** The scrape targets' health by pod (/api/v1/targets). */
    async targets(): Promise<Record<string, string>> {
        const body = JSON.parse(await get("/api/v1/targets"));
        return Object.fromEntries(body.data.activeTargets.map((t: any) => [t.labels.pod, t.health]));
    }

    stop(): void {
        if (!this.proc?.pid) return;
        try {
            process.kill(-this.proc.pid, "SIGKILL");
        } catch {
            /* gone already */
        }
    }
}

function get(pathAndQuery: string): Promise<string> {
    return new Promise((resolve, reject) => {
        const req = http.get(`http://${PROMETHEUS_ADDRESS}${pathAndQuery}`, (res) => {
            let body = "";
            res.on("data", (d) => (body += d));
            res.on("end", () => resolve(body));
        });
        req.on("error", reject);
        req.setTimeout(10000, () => req.destroy(new Error(`GET ${pathAndQuery} timed out`)));
    });
}

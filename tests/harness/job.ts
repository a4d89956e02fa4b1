/**
 * The harness node runs a Job's pod, as a kubelet would: the pod the real Job controller made (from a Job that
 * `kubectl create job --from=cronjob/...` made from a rendered CronJob, say) is bound to the node, its volumes
 * are written from the API (ConfigMaps, Secrets, emptyDirs, and the ServiceAccount token volume the admission
 * plugin injected: a token bound to this pod, the cluster's CA, the namespace), and its one container runs to
 * its end in a mount namespace of its own, as its user, with its env and KUBERNETES_SERVICE_HOST/PORT. The
 * pod's status goes to the API (Running, then Succeeded or Failed with the exit code), so that the Job
 * controller completes or fails the Job.
 *
 * The container's processes reach the API with the pod's own token, as `kubectl` does in a pod (in-cluster
 * configuration): the real `kubectl` (build.sh's) is first on PATH, where the image has its own. Every call is
 * authorized by the rendered Role, and an exec goes through the node's streaming server.
 *
 * One container and no init containers, restartPolicy Never, no retry: what the rendered Jobs are. Anything
 * else is refused, not approximated.
 */
import { spawn } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { NODE_STREAM } from "./controlplane";
import { HarnessNode } from "./node";
import { PG_BIN, mountNamespace, own, runAs } from "./pod";
import { collect } from "./proc";

export interface JobRun {
    pod: string;
    code: number | null;
    /** The container's output (stdout and stderr), as `kubectl logs` would show it. */
    log: string;
}

/** Runs the first pod of Job `job` to its end on the node and reports it; resolves with its exit and output. */
export async function runJobPod(node: HarnessNode, namespace: string, job: string, timeoutMs = 600000): Promise<JobRun> {
    const name = await node.jobPod(namespace, job);
    const { uid, access } = await node.admit(namespace, name);
    const pod = await node.get(namespace, "pods", name);
    const spec = pod.spec;
    if (spec.containers.length !== 1 || (spec.initContainers ?? []).length > 0 || spec.restartPolicy !== "Never") {
        throw new Error(`pod ${name}: the harness runs Job pods of one container, no init containers, restartPolicy Never`);
    }
    const c = spec.containers[0];
    const root = fs.mkdtempSync(path.join("/var/tmp", `rdb-job-${name}-`));
    fs.chmodSync(root, 0o755);
    try {
        const fsGroup = spec.securityContext?.fsGroup ?? 0;
        const dirs = new Map<string, string>();
        for (const v of spec.volumes ?? []) {
            const dir = path.join(root, v.name);
            fs.mkdirSync(dir);
            dirs.set(v.name, dir);
            const write = (file: string, content: string | Buffer, mode: number) => {
                fs.writeFileSync(path.join(dir, file), content);
                own(path.join(dir, file), 0, fsGroup, mode);
            };
            if (v.emptyDir) own(dir, 0, fsGroup, 0o2777);
            else if (v.configMap) {
                const cm = await node.get(namespace, "configmaps", v.configMap.name);
                if (!cm) throw new Error(`pod ${name}: ConfigMap ${v.configMap.name} not found`);
                for (const [k, val] of Object.entries<string>(cm.data ?? {})) write(k, val, v.configMap.defaultMode ?? 0o644);
            } else if (v.secret) {
                const sec = await node.get(namespace, "secrets", v.secret.secretName);
                if (!sec) throw new Error(`pod ${name}: Secret ${v.secret.secretName} not found`);
                // `items` projects only the keys it names, at their paths, as the kubelet does.
                const items: { key: string; path: string }[] = v.secret.items ?? Object.keys(sec.data ?? {}).map((k) => ({ key: k, path: k }));
                for (const { key, path: file } of items) {
                    if (sec.data?.[key] === undefined) throw new Error(`pod ${name}: Secret ${v.secret.secretName} has no key ${key}`);
                    write(file, Buffer.from(sec.data[key], "base64"), v.secret.defaultMode ?? 0o644);
                }
            } else if (v.projected) {
                for (const src of v.projected.sources) {
                    if (src.serviceAccountToken) write(src.serviceAccountToken.path, access.token, v.projected.defaultMode ?? 0o644);
                    else if (src.configMap?.name === "kube-root-ca.crt") write("ca.crt", access.ca, v.projected.defaultMode ?? 0o644);
                    else if (src.downwardAPI) write("namespace", namespace, v.projected.defaultMode ?? 0o644);
                    else throw new Error(`pod ${name}: projected source ${JSON.stringify(src)} is not played by the harness`);
                }
            } else throw new Error(`pod ${name}: volume ${v.name} of a kind the harness does not play (${Object.keys(v).join(", ")})`);
        }
        const mounts: [string, string][] = (c.volumeMounts ?? []).map((m: any) => {
            if (m.subPath) throw new Error(`pod ${name}: subPath mounts are not played by the harness`);
            return [dirs.get(m.name)!, m.mountPath];
        });
        const env: Record<string, string> = {};
        for (const e of c.env ?? []) {
            if (e.valueFrom) throw new Error(`pod ${name}: env ${e.name} from ${JSON.stringify(e.valueFrom)} is not played by the harness`);
            env[e.name] = e.value ?? "";
        }
        const kubectlDir = path.dirname(node.cp.bin("kubectl"));
        Object.assign(env, {
            KUBERNETES_SERVICE_HOST: access.host,
            KUBERNETES_SERVICE_PORT: String(access.port),
            // The image's tools: kubectl (build.sh's) and PostgreSQL's client programs (Debian's, as in the pods).
            PATH: `${kubectlDir}:${PG_BIN}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin`,
            HOSTNAME: name,
        });
        const sc = spec.securityContext ?? {};
        const id = { uid: c.securityContext?.runAsUser ?? sc.runAsUser ?? 0, gid: c.securityContext?.runAsGroup ?? sc.runAsGroup ?? 0, fsGroup };
        const startedAt = Date.now();
        const observed = { podIP: NODE_STREAM.address, running: true, ready: false, restarts: 0, startedAt, image: c.image, container: c.name };
        await node.report(namespace, name, uid, observed);
        const argv = [...(c.command ?? []), ...(c.args ?? [])];
        const child = spawn("unshare", mountNamespace(mounts, [...runAs(id), ...argv]), { env, cwd: "/", stdio: ["ignore", "pipe", "pipe"] });
        const r = await collect(child, timeoutMs);
        const code = r.status ?? 128;
        await node.report(namespace, name, uid, { ...observed, running: false, exitCode: code, finishedAt: Date.now() });
        return { pod: name, code: r.status, log: r.stdout + r.stderr };
    } finally {
        fs.rmSync(root, { recursive: true, force: true });
    }
}

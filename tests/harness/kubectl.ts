/**
 * The real `kubectl` (tools/controlplane/build.sh builds it with the control plane) for the operator's
 * commands in bin/, against a Cluster whose pods run on the harness node (ClusterOptions.onNode, or a Patroni
 * render). It authenticates as a ServiceAccount of its own that holds only bin/operator-role.yaml, the Role
 * the docs tell users to bind: a right the commands use and the Role lacks fails the test.
 *
 * `kubectl get pods` reads what the node reported (the Ready condition from the harness's prober);
 * `kubectl exec` goes through the API server (which authorizes it) to the node's streaming server
 * (tools/controlplane/node-stream), which runs the command in the container's mount namespace, as its user,
 * with its environment.
 */
import { spawn } from "child_process";
import * as path from "path";
import { Cluster } from "./cluster";
import { collect } from "./proc";

/** The Role the docs give operators, as users apply it. */
export const OPERATOR_ROLE = path.join(__dirname, "..", "..", "bin", "operator-role.yaml");
const OPERATOR = "replicated-db-operator";

export class Kubectl {
    private constructor(private readonly c: Cluster, private readonly bin: string, readonly kubeconfig: string) {}

    /** Applies the operator Role to the cluster's namespace, binds it to a ServiceAccount of that name and
     * makes a kubeconfig with that account's token. */
    static async create(c: Cluster): Promise<Kubectl> {
        const node = c.node;
        if (!node) throw new Error("Kubectl needs the cluster's pods on the harness node: create the Cluster with onNode: true (or a Patroni render)");
        const ns = c.namespaceName;
        const cp = node.cp;
        await cp.kubectl(["apply", "-n", ns, "-f", OPERATOR_ROLE]);
        await cp.kubectl(["apply", "-n", ns, "-f", "-"], {
            input: JSON.stringify({
                apiVersion: "v1", kind: "List", items: [
                    { apiVersion: "v1", kind: "ServiceAccount", metadata: { name: OPERATOR, namespace: ns } },
                    {
                        apiVersion: "rbac.authorization.k8s.io/v1", kind: "RoleBinding", metadata: { name: OPERATOR, namespace: ns },
                        roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: OPERATOR },
                        subjects: [{ kind: "ServiceAccount", name: OPERATOR, namespace: ns }],
                    },
                ],
            }),
        });
        const kubeconfig = await cp.serviceAccountKubeconfig(ns, OPERATOR);
        return new Kubectl(c, path.dirname(cp.bin("kubectl")), kubeconfig);
    }

    /** The PATH that finds the real kubectl first. */
    get path(): string {
        return `${this.bin}:${process.env.PATH}`;
    }

    /** Runs a command with kubectl on PATH as the operator, without blocking the event loop (the probes keep
     * running). The node reports the pods' status first, so that the API says what the harness sees now. */
    async run(command: string, args: string[], env: Record<string, string> = {}, timeoutMs = 600000): Promise<{ code: number | null; stdout: string; stderr: string }> {
        await this.c.reportStatus();
        const child = spawn(command, args, { env: { PATH: this.path, KUBECONFIG: this.kubeconfig, HOME: process.env.HOME ?? "/root", ...env }, stdio: ["ignore", "pipe", "pipe"] });
        const { status, stdout, stderr } = await collect(child, timeoutMs);
        return { code: status, stdout, stderr };
    }

    /** `kubectl ARGS...` as the operator. */
    kubectl(...args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
        return this.run(path.join(this.bin, "kubectl"), args);
    }
}


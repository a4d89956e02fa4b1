/**
 * A stand-in `kubectl` for the operator's commands in bin/, against a harness Cluster: a script on PATH that
 * answers the two calls they make, and fails loudly on anything else.
 *  - `kubectl get pods -n NS -l app.kubernetes.io/instance=CLUSTER -o jsonpath=EXPR` with the one jsonpath
 *    expression the commands use: "NAME READY" lines, READY being the kubelet's Ready condition (True/False)
 *    of each pod that exists, from a file the test refreshes (Kubectl.refresh, and every 300 ms while a
 *    command runs through run()).
 *  - `kubectl exec [-i] -n NS POD -c postgres -- CMD...`: CMD in the pod's database container as the kubelet
 *    runs it there: its mount namespace, its user, and its environment (read from the container's first
 *    process), stdin passed through with -i.
 */
import { spawn } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { Cluster } from "./cluster";
import { collect } from "./proc";

/** The jsonpath the commands in bin/ ask for. */
export const READY_JSONPATH = '{range .items[*]}{.metadata.name}{" "}{.status.conditions[?(@.type=="Ready")].status}{"\\n"}{end}';

export class Kubectl {
    readonly dir: string;
    private readonly state: string;

    constructor(private readonly c: Cluster) {
        this.dir = path.join(c.base, "kubectl");
        this.state = path.join(this.dir, "pods");
        fs.mkdirSync(this.dir, { recursive: true });
        fs.writeFileSync(path.join(this.dir, "expected-jsonpath"), READY_JSONPATH);
        fs.writeFileSync(path.join(this.dir, "kubectl"), this.script(), { mode: 0o755 });
        this.refresh();
    }

    /** Writes what `get pods` and `exec` read: every pod's name, readiness and its container's main pid ("-"
     * while the container does not run). */
    refresh(): void {
        const lines = [...this.c.pods.entries()]
            .sort(([a], [b]) => a - b)
            .filter(([, p]) => p.created)
            .map(([i, p]) => `${p.name} ${this.c.ready(i) ? "True" : "False"} ${p.running ? p.pid : "-"}`);
        fs.writeFileSync(`${this.state}.tmp`, lines.join("\n") + "\n");
        fs.renameSync(`${this.state}.tmp`, this.state);
    }

    /** The PATH that finds this kubectl first. */
    get path(): string {
        return `${this.dir}:${process.env.PATH}`;
    }

    /** Runs a command with this kubectl on PATH without blocking the event loop (the probes keep running). */
    run(command: string, args: string[], env: Record<string, string> = {}, timeoutMs = 600000): Promise<{ code: number | null; stdout: string; stderr: string }> {
        this.refresh();
        const timer = setInterval(() => this.refresh(), 300);
        const child = spawn(command, args, { env: { PATH: this.path, ...env }, stdio: ["ignore", "pipe", "pipe"] });
        return collect(child, timeoutMs).then(({ status, stdout, stderr }) => {
            clearInterval(timer);
            return { code: status, stdout, stderr };
        });
    }

    private script(): string {
        return `#!/bin/bash
set -euo pipefail
dir=$(dirname "$0")
die() { echo "stand-in kubectl: $*" >&2; exit 2; }
verb=\${1:-}; shift || true
ns="" pod="" container="" selector="" output="" interactive=""
while [ $# -gt 0 ]; do
    case $1 in
    -n) ns=$2; shift 2 ;;
    -c) container=$2; shift 2 ;;
    -l) selector=$2; shift 2 ;;
    -o) output=$2; shift 2 ;;
    -o*) output=\${1#-o}; shift ;;
    -i) interactive=1; shift ;;
    --) shift; break ;;
    -*) die "unsupported flag $1" ;;
    *) if [ "$verb" = get ] && [ "$1" = pods ]; then shift; else pod=$1; shift; fi ;;
    esac
done
[ "$ns" = ${JSON.stringify(this.c.objects.statefulSet.metadata.namespace ?? "default")} ] || die "no namespace '$ns' here"
case $verb in
get)
    [ "$selector" = "app.kubernetes.io/instance=${this.c.name}" ] || die "unexpected selector '$selector'"
    [ "$output" = "jsonpath=$(cat "$dir/expected-jsonpath")" ] || die "unexpected output '$output'"
    while read -r name ready _; do [ -z "$name" ] || printf '%s %s\\n' "$name" "$ready"; done <"$dir/pods"
    ;;
exec)
    [ "$container" = postgres ] || die "exec needs -c postgres (got '$container')"
    [ $# -gt 0 ] || die "exec needs a command after --"
    pid=$(awk -v p="$pod" '$1 == p { print $3 }' "$dir/pods")
    [ -n "$pid" ] || { echo "Error from server (NotFound): pods \\"$pod\\" not found" >&2; exit 1; }
    [ "$pid" != - ] || { echo "error: unable to upgrade connection: container not found (\\"postgres\\")" >&2; exit 1; }
    mapfile -d '' environ <"/proc/$pid/environ"
    [ -n "$interactive" ] || exec </dev/null
    cd /
    exec nsenter -t "$pid" -m -- setpriv --reuid=999 --regid=999 --groups=999 -- env -i "\${environ[@]}" "$@"
    ;;
*) die "unsupported verb '$verb'" ;;
esac
`;
    }
}

#!/bin/bash
# isolated.sh COMMAND...: runs a data-plane run (the test suite, a benchmark) in a network, PID and IPC
# namespace of its own. Every run's pods listen on the same addresses (10.244.0.10+, local to the run) with the same
# deterministic passwords, so without this two runs on one machine would talk to each other's servers.
# The PID namespace makes the run's end the end of all it started: when its first process dies, for
# any reason, SIGKILL included, the kernel kills every process left in the namespace.
set -euo pipefail

if [ "${1:-}" != "--inside" ]; then
    [ "$#" -gt 0 ] || { echo "usage: $0 COMMAND [ARG...]" >&2; exit 2; }
    [ "$(id -u)" = 0 ] || { echo "$0: must run as root (namespaces, and pods that drop to the postgres user)" >&2; exit 2; }
    # The harness compares these with its own to refuse running outside a private namespace.
    RDB_OUTER_NETNS=$(readlink /proc/self/ns/net)
    RDB_OUTER_PIDNS=$(readlink /proc/self/ns/pid)
    RDB_OUTER_IPCNS=$(readlink /proc/self/ns/ipc)
    export RDB_OUTER_NETNS RDB_OUTER_PIDNS RDB_OUTER_IPCNS
    # pdeathsig: if whoever started us (npm, CI) is SIGKILLed, unshare dies too, and --kill-child then
    # takes the namespace's first process, and with it the whole namespace. --mount-proc makes /proc show
    # this namespace's PIDs, which the harness hands to nsenter. The IPC namespace holds the System V shared
    # memory segments of the run's servers: one that is SIGKILLed leaves its segment behind, and in the host's
    # namespace those added up over many runs until no server could start ("could not create shared memory
    # segment: No space left on device", with kernel.shmmni's 4096 taken); the run's namespace goes with it.
    exec setpriv --pdeathsig KILL -- unshare --net --pid --ipc --fork --kill-child --mount-proc -- "$0" --inside "$@"
fi
shift

# Here we are PID 1 of the new namespace: bash reaps the orphans reparented to it (servers that pg_ctl
# daemonised), which a node process would leave as zombies.
ip link set lo up
# The pods' network, 10.244.0.0/16, local on the loopback interface: a pod listens on an address of its own in it.
# Not 127.0.0.0/8, which the API server refuses in the EndpointSlices its controller computes from the pods.
ip route add local 10.244.0.0/16 dev lo table local
# The run's own /etc/hosts (unshare's --mount-proc gave us a private mount namespace): the clusters add their
# pods' and Services' names to it, so that the test's clients dial them by name and verify the servers'
# certificates (sslmode=verify-full), which carry names, not addresses, as a client in the cluster would.
# The copy lives on a tmpfs of this namespace alone (the directory stays empty on the host), so it is gone
# with the run; it must stay a named file, as the pods bind-mount their own hosts over this mount.
mkdir -p /run/rdb-run-hosts
mount -t tmpfs -o size=1m,mode=0755 rdb-run-hosts /run/rdb-run-hosts
RDB_RUN_HOSTS=/run/rdb-run-hosts/hosts
cp /etc/hosts "$RDB_RUN_HOSTS"
chmod 644 "$RDB_RUN_HOSTS"
mount --bind "$RDB_RUN_HOSTS" /etc/hosts
export RDB_RUN_HOSTS
# A background job would get /dev/null as stdin; the run keeps ours.
"$@" <&0 &
child=$!
# PID 1 gets no default signal handling: pass a stop request on to the run and keep waiting for it.
trap 'kill -TERM "$child" 2>/dev/null || true' TERM HUP
trap 'kill -INT "$child" 2>/dev/null || true' INT
rc=0
while :; do
    rc=0
    wait "$child" || rc=$?
    kill -0 "$child" 2>/dev/null || break
done
exit "$rc"

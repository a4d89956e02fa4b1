#!/usr/bin/env bash
# Builds the real Kubernetes control plane the control-plane tests start (etcd, kube-apiserver,
# kube-controller-manager, kube-scheduler, kubectl) from the Go module proxy, at the versions pinned in
# tools/versions.env, the harness node's streaming server (node-stream/main.go, the end of `kubectl exec`), and fetches the upstream CRD manifests the monitoring and TLS variants need.
# Everything lands in ${RDB_TOOLS_DIR:-$HOME/.cache/replicated-db-tools}/<name>-<version>/ and is reused:
# a stamp file, written only after a successful step, marks a finished build.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
# shellcheck disable=SC1091 # a file of plain KEY=value lines
. "$root/tools/versions.env"
tools="${RDB_TOOLS_DIR:-$HOME/.cache/replicated-db-tools}"
k8s_dir="$tools/kubernetes-$KUBERNETES_VERSION"
etcd_dir="$tools/etcd-$ETCD_VERSION"
# The node's streaming server is the project's own source: its cache directory is named by the source's hash.
stream_src="$root/tools/controlplane/node-stream/main.go"
stream_dir="$tools/node-stream-$KUBERNETES_VERSION-$(sha256sum "$stream_src" | cut -c1-12)"
crd_dir="$tools/crds-po$PROMETHEUS_OPERATOR_VERSION-cm$CERT_MANAGER_VERSION"
# Two cores are shared with other work: the compile stays at low priority and two packages at a time.
export GOFLAGS="${GOFLAGS:+$GOFLAGS }-p=2 -mod=mod -trimpath"
export CGO_ENABLED=0

build_kubernetes() {
    [ -f "$k8s_dir/stamp" ] && return 0
    local start=$SECONDS mod="$k8s_dir/module"
    mkdir -p "$mod" "$k8s_dir/bin"
    # k8s.io/kubernetes points its staging modules (k8s.io/api, k8s.io/client-go, ...) at its own tree with
    # replace directives, which a dependent module does not inherit: the wrapper replaces each of them with
    # its published v0.<minor>.<patch>, the list taken from the downloaded go.mod, not typed here.
    local kmod
    kmod="$(cd "$mod" && go mod download -json "k8s.io/kubernetes@v$KUBERNETES_VERSION" |
        sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",$/\1/p')"
    local staging_version="v0.${KUBERNETES_VERSION#1.}"
    {
        echo "module rdb.local/kubernetes-tools"
        echo
        echo "go $(go env GOVERSION | sed 's/^go//; s/^\([0-9]*\.[0-9]*\).*/\1/')"
        echo
        echo "require k8s.io/kubernetes v$KUBERNETES_VERSION"
        echo
        echo "replace ("
        sed -n 's#^[[:space:]]*\(k8s\.io/[a-z0-9.-]*\) => \./staging/src/.*#\t\1 => \1 '"$staging_version"'#p' "$kmod"
        echo ")"
    } > "$mod/go.mod"
    # Blank imports keep the commands' packages in the module graph for `go mod tidy`.
    cat > "$mod/tools.go" <<'GO'
//go:build tools

package tools

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager"
	_ "k8s.io/kubernetes/cmd/kube-scheduler"
	_ "k8s.io/kubernetes/cmd/kubectl"
)
GO
    (cd "$mod" && go mod tidy)
    local cmd
    for cmd in kube-apiserver kube-controller-manager kube-scheduler kubectl; do
        (cd "$mod" && nice -n 10 go build -ldflags "-s -w \
            -X k8s.io/component-base/version.gitVersion=v$KUBERNETES_VERSION \
            -X k8s.io/component-base/version.gitMajor=1 \
            -X k8s.io/component-base/version.gitMinor=$(echo "$KUBERNETES_VERSION" | cut -d. -f2) \
            -X k8s.io/client-go/pkg/version.gitVersion=v$KUBERNETES_VERSION" \
            -o "$k8s_dir/bin/$cmd" "k8s.io/kubernetes/cmd/$cmd")
    done
    date -u +%FT%TZ > "$k8s_dir/stamp"
    echo "kubernetes $KUBERNETES_VERSION: cold build took $((SECONDS - start)) s" >&2
}

build_etcd() {
    [ -f "$etcd_dir/stamp" ] && return 0
    local start=$SECONDS mod="$etcd_dir/module"
    mkdir -p "$mod" "$etcd_dir/bin"
    cat > "$mod/go.mod" <<GOMOD
module rdb.local/etcd

go $(go env GOVERSION | sed 's/^go//; s/^\([0-9]*\.[0-9]*\).*/\1/')

require go.etcd.io/etcd/server/v3 v$ETCD_VERSION
GOMOD
    # The etcd binary's own main does only this once its flags are parsed by etcdmain.
    cat > "$mod/main.go" <<'GO'
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() { etcdmain.Main(os.Args) }
GO
    (cd "$mod" && go mod tidy && nice -n 10 go build -ldflags "-s -w" -o "$etcd_dir/bin/etcd" .)
    date -u +%FT%TZ > "$etcd_dir/stamp"
    echo "etcd $ETCD_VERSION: cold build took $((SECONDS - start)) s" >&2
}

build_node_stream() {
    [ -f "$stream_dir/stamp" ] && return 0
    local start=$SECONDS mod="$stream_dir/module"
    mkdir -p "$mod" "$stream_dir/bin"
    cp "$stream_src" "$mod/main.go"
    cat > "$mod/go.mod" <<GOMOD
module rdb.local/node-stream

go $(go env GOVERSION | sed 's/^go//; s/^\([0-9]*\.[0-9]*\).*/\1/')

require k8s.io/cri-streaming v0.${KUBERNETES_VERSION#1.}
GOMOD
    (cd "$mod" && go mod tidy && nice -n 10 go build -ldflags "-s -w" -o "$stream_dir/bin/node-stream" .)
    date -u +%FT%TZ > "$stream_dir/stamp"
    echo "node-stream (k8s.io/cri-streaming v0.${KUBERNETES_VERSION#1.}): cold build took $((SECONDS - start)) s" >&2
}

fetch_crds() {
    [ -f "$crd_dir/stamp" ] && return 0
    mkdir -p "$crd_dir"
    local po cm
    po="$(go mod download -json "github.com/prometheus-operator/prometheus-operator@v$PROMETHEUS_OPERATOR_VERSION" |
        sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')"
    local kind
    for kind in servicemonitors podmonitors prometheusrules; do
        cp "$po/example/prometheus-operator-crd/monitoring.coreos.com_$kind.yaml" "$crd_dir/"
    done
    cm="$(go mod download -json "github.com/cert-manager/cert-manager@v$CERT_MANAGER_VERSION" |
        sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')"
    for kind in certificates issuers clusterissuers; do
        cp "$cm/deploy/crds/cert-manager.io_$kind.yaml" "$crd_dir/"
    done
    chmod u+w "$crd_dir"/*.yaml
    date -u +%FT%TZ > "$crd_dir/stamp"
}

case "${1:-all}" in
    kubernetes) build_kubernetes ;;
    etcd) build_etcd ;;
    crds) fetch_crds ;;
    node-stream) build_node_stream ;;
    dir) case "${2:-}" in node-stream) echo "$stream_dir" ;; *) echo "usage: $0 dir node-stream" >&2; exit 2 ;; esac ;;
    all) build_etcd; fetch_crds; build_kubernetes; build_node_stream ;;
    *) echo "usage: $0 [all|kubernetes|etcd|crds|node-stream|dir node-stream]" >&2; exit 2 ;;
esac

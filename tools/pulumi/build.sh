#!/usr/bin/env bash
# Builds the real Pulumi engine for tests/pulumi: the Pulumi CLI (PULUMI_VERSION) and the Kubernetes resource
# provider (PULUMI_KUBERNETES_PROVIDER_VERSION), from the Go module proxy only, into
#   ${RDB_TOOLS_DIR:-$HOME/.cache/replicated-db-tools}/pulumi-<v>/bin/pulumi
#   ${RDB_TOOLS_DIR:-$HOME/.cache/replicated-db-tools}/pulumi-kubernetes-<v>/bin/pulumi-resource-kubernetes
# Each is reused when its stamp file is there; a cold build prints how long it took.
#
# Usage: tools/pulumi/build.sh [cli|kubernetes|all]   (default: all)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source-path=SCRIPTDIR source=../versions.env
. "$here/../versions.env"
tools_dir="${RDB_TOOLS_DIR:-$HOME/.cache/replicated-db-tools}"
export GOFLAGS="-p=2 -buildvcs=false"
# No toolchain download: the machine's Go is newer than both modules' `go` lines.
export GOTOOLCHAIN=local

build_cli() {
    local dest="$tools_dir/pulumi-$PULUMI_VERSION"
    if [ -f "$dest/.built" ]; then echo "pulumi $PULUMI_VERSION: $dest/bin/pulumi (cached)"; return; fi
    local start=$SECONDS
    rm -rf "$dest"
    mkdir -p "$dest/wrapper" "$dest/bin"
    # pkg/v3's own go.mod replaces sdk/v3 with ../sdk (the upstream repository's layout) and atotto/clipboard
    # with a fork; replace directives of a dependency are ignored, so a wrapper module restates the second and
    # pins sdk/v3 to the same release from the proxy.
    cat >"$dest/wrapper/go.mod" <<EOF
module replicated-db.local/pulumi-cli

go 1.26

replace github.com/atotto/clipboard => github.com/tgummerer/clipboard v0.0.0-20241001131231-d02d263e614e
EOF
    (
        cd "$dest/wrapper"
        go get "github.com/pulumi/pulumi/sdk/v3@v$PULUMI_VERSION"
        go get -tool "github.com/pulumi/pulumi/pkg/v3/cmd/pulumi@v$PULUMI_VERSION"
        # The CLI reports this version (and the SDKs compare it with their own minimum).
        go build -trimpath \
            -ldflags "-X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=v$PULUMI_VERSION" \
            -o "$dest/bin/pulumi" github.com/pulumi/pulumi/pkg/v3/cmd/pulumi
    )
    "$dest/bin/pulumi" version
    touch "$dest/.built"
    echo "pulumi $PULUMI_VERSION: built in $((SECONDS - start)) s (cold) into $dest/bin"
}

build_kubernetes() {
    local v="$PULUMI_KUBERNETES_PROVIDER_VERSION"
    local dest="$tools_dir/pulumi-kubernetes-$v"
    if [ -f "$dest/.built" ]; then
        echo "pulumi-kubernetes $v: $dest/bin/pulumi-resource-kubernetes (cached)"
        return
    fi
    local start=$SECONDS
    rm -rf "$dest"
    mkdir -p "$dest/wrapper" "$dest/bin"
    local mod=github.com/pulumi/pulumi-kubernetes/provider/v4
    local src
    src="$(cd "$dest/wrapper" && go mod download -json "$mod@$v" |
        sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')"
    [ -d "$src" ] || { echo "$0: go mod download $mod@$v gave no directory" >&2; exit 1; }
    # The module zip has schema.json and terraform-mapping.json but not the schema-embed.json and
    # terraform-mapping-embed.json that main.go embeds (upstream's `go generate` writes them). So the module is
    # copied (outside the repository) and the two files are written the way generate.go writes them: the
    # schema with its version set, both re-serialised compactly.
    cp -r "$src" "$dest/provider"
    chmod -R u+w "$dest/provider"
    python3 - "$dest/provider/cmd/pulumi-resource-kubernetes" "${v#v}" <<'PY'
import json, sys
d, version = sys.argv[1], sys.argv[2]
with open(f"{d}/schema.json") as f:
    schema = json.load(f)
schema["version"] = version
with open(f"{d}/schema-embed.json", "w") as f:
    json.dump(schema, f, separators=(",", ":"))
with open(f"{d}/terraform-mapping.json") as f:
    mapping = json.load(f)
with open(f"{d}/terraform-mapping-embed.json", "w") as f:
    json.dump(mapping, f, separators=(",", ":"))
PY
    # The provider's go.mod replaces its sdk/v4 with ../sdk (upstream layout); the wrapper takes the copy as
    # the provider module and the sdk/v4 release that go.mod names from the proxy.
    local sdk_version
    sdk_version="$(awk '$1 == "github.com/pulumi/pulumi-kubernetes/sdk/v4" { print $2; exit }' "$src/go.mod")"
    cat >"$dest/wrapper/go.mod" <<EOF
module replicated-db.local/pulumi-kubernetes

go 1.26

require $mod $v

replace $mod => ../provider
EOF
    (
        cd "$dest/wrapper"
        go get "github.com/pulumi/pulumi-kubernetes/sdk/v4@$sdk_version"
        go get -tool "$mod/cmd/pulumi-resource-kubernetes"
        # The provider reports the pseudo-version of the commit it was built from (not a release tag).
        go build -trimpath -ldflags "-X $mod/pkg/version.Version=${v#v}" \
            -o "$dest/bin/pulumi-resource-kubernetes" "$mod/cmd/pulumi-resource-kubernetes"
    )
    touch "$dest/.built"
    echo "pulumi-kubernetes $v: built in $((SECONDS - start)) s (cold) into $dest/bin"
}

case "${1:-all}" in
    cli) build_cli ;;
    kubernetes) build_kubernetes ;;
    all) build_cli; build_kubernetes ;;
    *) echo "usage: $0 [cli|kubernetes|all]" >&2; exit 2 ;;
esac

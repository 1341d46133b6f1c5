#!/usr/bin/env bash
# Builds the control plane that test/envtest runs (etcd + kube-apiserver, and
# on request kubectl and helm) from the Go module proxy: no prebuilt downloads.
#
#   hack/envtest-assets.sh                  # etcd + kube-apiserver, skipped when already at the pinned version
#   WITH_KUBECTL=1 hack/envtest-assets.sh   # also kubectl (same module as kube-apiserver)
#   WITH_HELM=1 hack/envtest-assets.sh      # also helm
#   REGEN_TOOLS=1 hack/envtest-assets.sh    # rewrite hack/tools/<tool>/go.mod+go.sum (after a version bump)
#
# Each binary comes from a small module under hack/tools/<tool>/ whose go.mod
# and go.sum are committed, so an ordinary run builds with -mod=readonly and
# never asks the checksum database. Only writing those files (missing, or
# REGEN_TOOLS=1) resolves versions, trusting the proxy on first use for the
# k8s.io, sigs.k8s.io, go.etcd.io and helm.sh hosts; review and commit them.
#
# Env: ENVTEST_BIN  output directory (default: the user cache directory + /trustplane/envtest,
#                   the same place test/envtest.DefaultCacheDir looks; outside the clone so
#                   fresh CI clones reuse it). If you move it, export KUBEBUILDER_ASSETS=$ENVTEST_BIN.
#      K8S_VERSION (1.32.4), ETCD_VERSION (3.5.17), HELM_VERSION (3.16.3).
#
# The version ldflags are deterministic (the tag's commit and date, never
# `date`), so a rebuild after the binaries were deleted is a Go build cache hit.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
tools="$root/hack/tools"

k8s_version=${K8S_VERSION:-1.32.4}
etcd_version=${ETCD_VERSION:-3.5.17}
helm_version=${HELM_VERSION:-3.16.3}
staging_version="v0.${k8s_version#1.}" # 1.32.4 -> v0.32.4
bootstrap_nosumdb=k8s.io,sigs.k8s.io,go.etcd.io,helm.sh

default_bin() {
  # Mirror Go's os.UserCacheDir.
  case "$(uname -s)" in
  Darwin) echo "$HOME/Library/Caches/trustplane/envtest" ;;
  *) echo "${XDG_CACHE_HOME:-$HOME/.cache}/trustplane/envtest" ;;
  esac
}
bin=${ENVTEST_BIN:-$(default_bin)}

export GOTOOLCHAIN=local CGO_ENABLED=0
export GOFLAGS="${GOFLAGS:-} -trimpath"

started=$SECONDS
say() { printf 'envtest-assets: %s\n' "$*" >&2; }

# --- tools modules ----------------------------------------------------------

tidy_module() { # dir
  (cd "$1" && GOFLAGS=-mod=mod GONOSUMDB="$bootstrap_nosumdb" go mod tidy)
}

write_module_etcd() {
  cat >"$tools/etcd/go.mod" <<EOF
// Module etcd pins the etcd server test/envtest runs (hack/envtest-assets.sh).
// It is a separate module so etcd keeps its own grpc/otel versions.
module github.com/trustplane/trustplane/hack/tools/etcd

go 1.24.0

require go.etcd.io/etcd/server/v3 v$etcd_version

tool go.etcd.io/etcd/server/v3
EOF
}

write_module_kube_apiserver() {
  local gomod staging scratch
  # k8s.io/kubernetes requires its staging modules at v0.0.0 with replaces to
  # ./staging/...; a dependent module must point each at the tagged release.
  # (Downloaded from an empty directory so no go.mod is touched.)
  scratch=$(mktemp -d)
  gomod=$(cd "$scratch" && GOFLAGS= GONOSUMDB="$bootstrap_nosumdb" \
    go mod download -json "k8s.io/kubernetes@v$k8s_version" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p') || true
  rmdir "$scratch"
  if [[ ! -s "$gomod" ]]; then
    say "cannot download the go.mod of k8s.io/kubernetes@v$k8s_version"
    exit 1
  fi
  staging=$(sed -n 's#^[[:space:]]*\(k8s.io/[a-z0-9-]*\) => \./staging/.*#\1#p' "$gomod")
  {
    printf '// Module kube-apiserver pins kube-apiserver and kubectl for test/envtest\n'
    printf '// (hack/envtest-assets.sh). Separate so k8s.io/kubernetes stays out of trustplane.\n'
    printf 'module github.com/trustplane/trustplane/hack/tools/kube-apiserver\n\ngo 1.24.0\n\n'
    printf 'require k8s.io/kubernetes v%s\n\nreplace (\n' "$k8s_version"
    while read -r m; do printf '\t%s => %s %s\n' "$m" "$m" "$staging_version"; done <<<"$staging"
    printf ')\n\ntool (\n\tk8s.io/kubernetes/cmd/kube-apiserver\n\tk8s.io/kubernetes/cmd/kubectl\n)\n'
  } >"$tools/kube-apiserver/go.mod"
}

write_module_helm() {
  cat >"$tools/helm/go.mod" <<EOF
// Module helm pins the helm CLI the chart tests use (hack/envtest-assets.sh).
module github.com/trustplane/trustplane/hack/tools/helm

go 1.24.0

require helm.sh/helm/v3 v$helm_version

tool helm.sh/helm/v3/cmd/helm
EOF
}

ensure_module() { # tool
  local dir="$tools/$1"
  if [[ "${REGEN_TOOLS:-0}" == 1 || ! -f "$dir/go.mod" || ! -f "$dir/go.sum" ]]; then
    say "writing $dir/go.mod and go.sum (trust on first use; commit both)"
    mkdir -p "$dir"
    rm -f "$dir/go.sum"
    "write_module_${1//-/_}"
    tidy_module "$dir"
  fi
}

# --- version stamping -------------------------------------------------------

k8s_ldflags() {
  local info commit date major minor pkg
  # The tag's commit and date from the proxy's .info (in the module cache once
  # the module is downloaded). Fallbacks are the v1.32.4 tag's values.
  info=$(cd "$tools/kube-apiserver" && go mod download -json k8s.io/kubernetes | sed -n 's/.*"Info": "\(.*\)".*/\1/p') || true
  commit=$(sed -n 's/.*"Hash":"\([0-9a-f]*\)".*/\1/p' "$info" 2>/dev/null) || true
  date=$(sed -n 's/.*"Time":"\([^"]*\)".*/\1/p' "$info" 2>/dev/null) || true
  if [[ "$k8s_version" == 1.32.4 ]]; then
    commit=${commit:-59526cd4867447956156ae3a602fcbac10a2c335}
  fi
  date=${date:-1970-01-01T00:00:00Z}
  major=${k8s_version%%.*}
  minor=$(cut -d. -f2 <<<"$k8s_version")
  # Unstamped, /version says v0.0.0-master+$Format:%H$: helm's kubeVersion
  # checks and `kubectl version` then fail.
  for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    printf -- '-X %s.gitVersion=v%s -X %s.gitMajor=%s -X %s.gitMinor=%s ' "$pkg" "$k8s_version" "$pkg" "$major" "$pkg" "$minor"
    printf -- '-X %s.gitCommit=%s -X %s.gitTreeState=clean -X %s.buildDate=%s ' "$pkg" "$commit" "$pkg" "$pkg" "$date"
  done
}

helm_ldflags() {
  # As helm's Makefile: without the k8sVersion values an offline `helm
  # template`/`helm lint` assumes Kubernetes v1.20.0.
  local minor pkg
  minor=$(cd "$tools/helm" && go list -mod=readonly -m -f '{{.Version}}' k8s.io/client-go | cut -d. -f2)
  for pkg in helm.sh/helm/v3/pkg/chartutil helm.sh/helm/v3/pkg/lint/rules; do
    printf -- '-X %s.k8sVersionMajor=1 -X %s.k8sVersionMinor=%s ' "$pkg" "$pkg" "$minor"
  done
  printf -- '-X helm.sh/helm/v3/internal/version.version=v%s -X helm.sh/helm/v3/internal/version.gitTreeState=clean' "$helm_version"
}

# --- builds -----------------------------------------------------------------

reports() { # want binary args...: the binary exists and prints want
  local want=$1 exe=$2 out
  shift 2
  [[ -x "$exe" ]] || return 1
  # Captured, not piped into grep -q: under pipefail an early grep exit
  # SIGPIPEs the binary and a present tool would look stale.
  out=$("$exe" "$@" 2>/dev/null) || return 1
  [[ "$out" == *"$want"* ]]
}

build() { # tool-module binary package ldflags
  local t0=$SECONDS out="$bin/$2"
  say "building $2 ..."
  (cd "$tools/$1" && go build -mod=readonly -ldflags "-s -w $4" -o "$out.$$.tmp" "$3")
  mv -f "$out.$$.tmp" "$out"
  say "built $2 in $((SECONDS - t0))s"
}

mkdir -p "$bin"

ensure_module etcd
if reports "etcd Version: $etcd_version" "$bin/etcd" --version; then
  say "etcd $etcd_version present"
else
  build etcd etcd go.etcd.io/etcd/server/v3 ""
fi

ensure_module kube-apiserver
if reports "Kubernetes v$k8s_version" "$bin/kube-apiserver" --version; then
  say "kube-apiserver v$k8s_version present"
else
  build kube-apiserver kube-apiserver k8s.io/kubernetes/cmd/kube-apiserver "$(k8s_ldflags)"
fi

if [[ "${WITH_KUBECTL:-0}" == 1 ]]; then
  if reports "Client Version: v$k8s_version" "$bin/kubectl" version --client; then
    say "kubectl v$k8s_version present"
  else
    build kube-apiserver kubectl k8s.io/kubernetes/cmd/kubectl "$(k8s_ldflags)"
  fi
fi

if [[ "${WITH_HELM:-0}" == 1 ]]; then
  ensure_module helm
  if reports "v$helm_version" "$bin/helm" version --short; then
    say "helm v$helm_version present"
  else
    build helm helm helm.sh/helm/v3/cmd/helm "$(helm_ldflags)"
  fi
fi

say "ready in $((SECONDS - started))s"
echo "KUBEBUILDER_ASSETS=$bin"

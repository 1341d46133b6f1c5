#!/usr/bin/env bash
# Builds Dapr's own control plane (sentry, placement, scheduler, injector,
# operator) at the version hack/tools/dapr pins, and our daprsvid driver
# (a workload using Dapr's security provider), as test oracles; and copies
# Dapr's Helm chart (charts/dapr) out of the module for the chart tests.
# Everything comes from the Go module proxy: no prebuilt downloads.
#
#   hack/dapr-assets.sh          # builds only what is missing or out of date
#   FORCE=1 hack/dapr-assets.sh  # rebuilds everything
#
# hack/tools/dapr/go.mod and go.sum are committed, so a build runs with
# -mod=readonly and never asks the checksum database. Version choices (and
# why some modules are not Dapr's) are in hack/tools/dapr/README.md.
#
# Env: DAPR_BIN  output directory (default: the user cache directory +
#                /trustplane/dapr-1.18.3, where test/daprbin.Dir looks;
#                outside the clone so fresh CI clones reuse it).
#
# The binaries are static (CGO off) and stripped, stamped with the tag's
# version and commit the way Dapr's release build stamps them (never
# `date`), so a rebuild after the binaries were deleted is a Go build cache
# hit. The stamp file ($DAPR_BIN/.stamp) holds, per output, the sha256 of
# what it is built from: the tools module's go.mod and go.sum and this
# script, and for daprsvid also its sources. An output whose line differs,
# or that is missing, is rebuilt; when all match, the run takes ~0.1s.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
mod="$root/hack/tools/dapr"

dapr_version=1.18.3
dapr_commit=2dcf2e3548faf3c740b3d29ee300e2132db65cff # the v1.18.3 tag
binaries=(daprsvid sentry placement scheduler injector operator) # daprsvid first: ours, the likeliest to break

default_bin() {
  # Mirror Go's os.UserCacheDir.
  case "$(uname -s)" in
  Darwin) echo "$HOME/Library/Caches/trustplane/dapr-$dapr_version" ;;
  *) echo "${XDG_CACHE_HOME:-$HOME/.cache}/trustplane/dapr-$dapr_version" ;;
  esac
}
bin=${DAPR_BIN:-$(default_bin)}
stamp_file="$bin/.stamp"

export GOTOOLCHAIN=local CGO_ENABLED=0
export GOFLAGS="${GOFLAGS:-} -mod=readonly -trimpath"

started=$SECONDS
say() { printf 'dapr-assets: %s\n' "$*" >&2; }

if ! grep -q "^[[:space:]]*github.com/dapr/dapr v$dapr_version\$" "$mod/go.mod"; then
  say "$mod/go.mod does not require github.com/dapr/dapr v$dapr_version: update this script with it"
  exit 1
fi

sha256() { if command -v sha256sum >/dev/null; then sha256sum; else shasum -a 256; fi; }

# What each output is built from: Dapr's binaries and chart from the module
# files, daprsvid also from its sources; both from this script's flags.
dapr_inputs=$(cd "$mod" && cat go.mod go.sum "$root/hack/dapr-assets.sh" | sha256 | cut -d' ' -f1)
daprsvid_inputs=$(cd "$mod" && cat go.mod go.sum daprsvid/*.go "$root/hack/dapr-assets.sh" | sha256 | cut -d' ' -f1)

# The stamp file has one "<output> <sha256 of its inputs>" line per output.
want_stamp() {
  local b
  for b in "${binaries[@]}"; do
    if [[ "$b" == daprsvid ]]; then echo "$b $daprsvid_inputs"; else echo "$b $dapr_inputs"; fi
  done
  echo "charts/dapr $dapr_inputs"
}
want=$(want_stamp)
have=$(cat "$stamp_file" 2>/dev/null || true)

current() { # output: present and built from the current inputs
  [[ "${FORCE:-0}" != 1 ]] || return 1
  case "$1" in
  charts/dapr) [[ -f "$bin/charts/dapr/Chart.yaml" ]] || return 1 ;;
  *) [[ -x "$bin/$1" ]] || return 1 ;;
  esac
  grep -qxF "$(grep "^$1 " <<<"$want")" <<<"$have"
}

all_current() {
  local b
  for b in "${binaries[@]}" charts/dapr; do
    current "$b" || return 1
  done
}

if all_current; then
  say "dapr $dapr_version binaries and chart present in $bin ($((SECONDS - started))s)"
  echo "DAPR_BIN=$bin"
  exit 0
fi

mkdir -p "$bin"

ldflags="-s -w"
ldflags+=" -X github.com/dapr/dapr/pkg/buildinfo.version=$dapr_version"
ldflags+=" -X github.com/dapr/dapr/pkg/buildinfo.gitversion=v$dapr_version"
ldflags+=" -X github.com/dapr/dapr/pkg/buildinfo.gitcommit=$dapr_commit"
ldflags+=" -X github.com/dapr/kit/logger.DaprVersion=$dapr_version"

build() { # binary package
  local t0=$SECONDS out="$bin/$1"
  say "building $1 ..."
  (cd "$mod" && go build -ldflags "$ldflags" -o "$out.$$.tmp" "$2")
  mv -f "$out.$$.tmp" "$out"
  say "built $1 in $((SECONDS - t0))s ($(du -h "$out" | cut -f1))"
}

for b in "${binaries[@]}"; do
  if current "$b"; then
    say "$b present"
    continue
  fi
  case "$b" in
  daprsvid) build "$b" ./daprsvid ;;
  *) build "$b" "github.com/dapr/dapr/cmd/$b" ;;
  esac
done

# Dapr's Helm chart, copied (the module cache is read-only) for the chart tests.
if current charts/dapr; then
  say "charts/dapr present"
else
  t0=$SECONDS
  dir=$(cd "$mod" && go mod download -json "github.com/dapr/dapr@v$dapr_version" | sed -n 's/.*"Dir": "\(.*\)".*/\1/p')
  if [[ ! -f "$dir/charts/dapr/Chart.yaml" ]]; then
    say "no charts/dapr in the github.com/dapr/dapr@v$dapr_version module (Dir: ${dir:-none})"
    exit 1
  fi
  mkdir -p "$bin/charts"
  rm -rf "$bin/charts/dapr.$$.tmp"
  cp -R "$dir/charts/dapr" "$bin/charts/dapr.$$.tmp"
  chmod -R u+w "$bin/charts/dapr.$$.tmp"
  rm -rf "$bin/charts/dapr"
  mv "$bin/charts/dapr.$$.tmp" "$bin/charts/dapr"
  say "copied charts/dapr in $((SECONDS - t0))s"
fi

# Written last: an interrupted run leaves the old stamp, and whatever it
# does not vouch for is rebuilt next time.
echo "$want" >"$stamp_file"
say "ready in $((SECONDS - started))s"
echo "DAPR_BIN=$bin"

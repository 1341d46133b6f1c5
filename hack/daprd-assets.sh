#!/usr/bin/env bash
# Builds Dapr's daprd sidecar, at the version hack/tools/daprd pins
# (v1.18.2: v1.18.3's daprd needs modules the Go module proxy refuses, see
# hack/tools/daprd/README.md), with -tags stablecomponents, for the daprd
# conformance tests (test/conformance/daprd_test.go, `make test-daprd`).
# Everything comes from the Go module proxy: no prebuilt downloads.
#
#   hack/daprd-assets.sh          # builds daprd unless present and up to date
#   hack/daprd-assets.sh --check  # exit 0 if it is present and up to date, 1 if not; builds nothing
#   FORCE=1 hack/daprd-assets.sh  # rebuilds it
#
# The first build on a machine compiles every stable component of Dapr
# (~2,200 packages): long on a small machine (README.md's Quick start has
# the measured time); a rebuild after the binary was deleted is a Go build
# cache hit, and when it is present and current the run takes ~0.1s.
#
# hack/tools/daprd/go.mod and go.sum are committed, so a build runs with
# -mod=readonly and never asks the checksum database.
#
# Env: DAPRD_BIN  output directory (default: the user cache directory +
#                 /trustplane/daprd-1.18.2, where test/daprbin.Daprd looks;
#                 outside the clone so fresh CI clones reuse it).
#
# The binary is static (CGO off, as Dapr's release build) and stripped,
# stamped with the tag's version and commit as Dapr's release build stamps
# it (never `date`). The stamp file ($DAPRD_BIN/.stamp) holds the sha256 of
# what it is built from: the tools module's go.mod and go.sum and this
# script; a missing binary or a different stamp means a rebuild.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
mod="$root/hack/tools/daprd"

daprd_version=1.18.2
daprd_commit=d2dd3747145e38e4d85db4714e26d7569c9c37db # the v1.18.2 tag (the proxy's .info Origin.Hash)
build_tags=stablecomponents

check=0
case "${1:-}" in
"") ;;
--check) check=1 ;;
*)
  echo "usage: $0 [--check]" >&2
  exit 2
  ;;
esac

default_bin() {
  # Mirror Go's os.UserCacheDir.
  case "$(uname -s)" in
  Darwin) echo "$HOME/Library/Caches/trustplane/daprd-$daprd_version" ;;
  *) echo "${XDG_CACHE_HOME:-$HOME/.cache}/trustplane/daprd-$daprd_version" ;;
  esac
}
bin=${DAPRD_BIN:-$(default_bin)}
out="$bin/daprd"
stamp_file="$bin/.stamp"

export GOTOOLCHAIN=local CGO_ENABLED=0
export GOFLAGS="${GOFLAGS:-} -mod=readonly -trimpath"

started=$SECONDS
say() { printf 'daprd-assets: %s\n' "$*" >&2; }

# (A module required only by a tool directive is marked "// indirect".)
if ! grep -Eq "^[[:space:]]*github.com/dapr/dapr v$daprd_version( // indirect)?\$" "$mod/go.mod"; then
  say "$mod/go.mod does not require github.com/dapr/dapr v$daprd_version: update this script with it"
  exit 1
fi

sha256() { if command -v sha256sum >/dev/null; then sha256sum; else shasum -a 256; fi; }
want="daprd $(cat "$mod/go.mod" "$mod/go.sum" "$root/hack/daprd-assets.sh" | sha256 | cut -d' ' -f1)"
have=$(cat "$stamp_file" 2>/dev/null || true)

if [[ "${FORCE:-0}" != 1 && -x "$out" && "$have" == "$want" ]]; then
  if [[ $check == 1 ]]; then
    say "daprd $daprd_version present in $bin"
  else
    say "daprd $daprd_version present in $bin ($((SECONDS - started))s)"
    echo "DAPRD_BIN=$bin"
  fi
  exit 0
fi
if [[ $check == 1 ]]; then
  if [[ -x "$out" ]]; then
    say "$out is out of date (its stamp does not match hack/tools/daprd or this script): run make daprd"
  else
    say "$out is missing: run make daprd"
  fi
  exit 1
fi

mkdir -p "$bin"

ldflags="-s -w"
ldflags+=" -X github.com/dapr/dapr/pkg/buildinfo.version=$daprd_version"
ldflags+=" -X github.com/dapr/dapr/pkg/buildinfo.gitversion=v$daprd_version"
ldflags+=" -X github.com/dapr/dapr/pkg/buildinfo.gitcommit=$daprd_commit"
ldflags+=" -X github.com/dapr/kit/logger.DaprVersion=$daprd_version"

say "building daprd $daprd_version (-tags $build_tags) ..."
(cd "$mod" && go build -tags "$build_tags" -ldflags "$ldflags" -o "$out.$$.tmp" github.com/dapr/dapr/cmd/daprd)
mv -f "$out.$$.tmp" "$out"
say "built daprd in $((SECONDS - started))s ($(du -h "$out" | cut -f1))"

# Written last: an interrupted run leaves the old stamp, and the binary is
# rebuilt next time.
echo "$want" >"$stamp_file"
echo "DAPRD_BIN=$bin"

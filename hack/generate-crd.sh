#!/usr/bin/env bash
# Regenerates the deep-copy code of the Kubernetes API types under api/ and
# the CRDs in config/crd/bases with the controller-gen pinned in
# hack/tools/controller-gen (its own module: controller-tools follows its
# own k8s.io line).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
bin="$root/bin"

mkdir -p "$bin"
(cd "$root/hack/tools/controller-gen" && go build -o "$bin/" sigs.k8s.io/controller-tools/cmd/controller-gen)

cd "$root"
"$bin/controller-gen" object paths=./api/...
# Remove stale CRDs first, so a type that is gone leaves no file behind.
rm -f config/crd/bases/*.yaml
"$bin/controller-gen" crd paths=./api/... output:crd:artifacts:config=config/crd/bases

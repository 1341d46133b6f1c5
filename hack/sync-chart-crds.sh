#!/usr/bin/env bash
# Copies the generated CRDs (config/crd/bases) into the Helm chart's crds/
# directory, which Helm installs before the templates. Run by make generate;
# make verify fails when the copy differs from config/crd/bases.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
src="$root/config/crd/bases"
dst="$root/charts/trustplane/crds"

mkdir -p "$dst"
# Remove stale copies first, so a CRD that is gone leaves no file behind.
rm -f "$dst"/*.yaml
cp "$src"/*.yaml "$dst"/

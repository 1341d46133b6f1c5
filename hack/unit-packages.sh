#!/usr/bin/env bash
# Lists the packages whose tests need no cached binary: no envtest (etcd,
# kube-apiserver, helm, kubectl), no Dapr binary, no binary built by the
# test itself. `make test-unit` runs them.
set -euo pipefail
cd "$(dirname "$0")/.."
heavy='github.com/trustplane/trustplane/test/(envtest|cluster|daprbin|proc|sentryproc|injectorproc|trustctlrun)$'
go list -f '{{.ImportPath}}{{range .TestImports}} {{.}}{{end}}{{range .XTestImports}} {{.}}{{end}}' ./... |
  while read -r pkg imports; do
    case "$pkg" in */test/*) [[ "$pkg" =~ /test/(testca|fakewatch)$ ]] || continue ;; esac
    if ! tr ' ' '\n' <<<"$imports" | grep -Eq "$heavy"; then
      echo "$pkg"
    fi
  done

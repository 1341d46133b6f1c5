#!/usr/bin/env bash
# Regenerates the Go code of api/sentry/v1 from sentry.proto with the pinned
# generators of hack/tools and Debian's protoc (the version is checked).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
bin="$root/bin"
want_protoc="libprotoc 3.21.12"

if ! command -v protoc >/dev/null 2>&1; then
  echo "protoc not found: install Debian's protobuf-compiler (apt-get install -y protobuf-compiler)" >&2
  exit 1
fi
have=$(protoc --version)
if [ "$have" != "$want_protoc" ]; then
  echo "protoc is '$have'; the committed code was generated with '$want_protoc'" >&2
  exit 1
fi

mkdir -p "$bin"
(cd "$root/hack/tools" && GOFLAGS=-mod=mod go build -o "$bin/" \
  google.golang.org/protobuf/cmd/protoc-gen-go \
  google.golang.org/grpc/cmd/protoc-gen-go-grpc)

cd "$root"
PATH="$bin:$PATH" protoc \
  --proto_path=api/sentry/v1 \
  --go_out=api/sentry/v1 --go_opt=paths=source_relative \
  --go-grpc_out=api/sentry/v1 --go-grpc_opt=paths=source_relative \
  api/sentry/v1/sentry.proto

# trustplane — `make help` lists the targets.
SHELL := /usr/bin/env bash -o errexit -o nounset -o pipefail
.DEFAULT_GOAL := help

BIN        ?= $(CURDIR)/bin
GO         ?= go
TEST_FLAGS ?= -count=1 -timeout=8m
BENCH_ARGS ?=
# Where `make run` keeps the self-hosted CA it generates.
CREDS_DIR  ?= $(CURDIR)/.run/credentials

.PHONY: help
help: ## Show this help.
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z0-9_-]+:.*## / {printf "  %-16s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

# Static binaries (CGO off), as in the container image.
GO_BUILD   ?= CGO_ENABLED=0 $(GO) build -trimpath

.PHONY: build
build: ## Build every binary into ./bin, and bin/sentry-standalone (sentry without Kubernetes mode).
	@mkdir -p $(BIN)
	$(GO_BUILD) -o $(BIN)/ ./cmd/...
	$(GO_BUILD) -tags standalone -o $(BIN)/sentry-standalone ./cmd/sentry

.PHONY: run
run: ## Run sentry self-hosted (the standalone build, built first) on 127.0.0.1:50001, generating its CA into $(CREDS_DIR).
	@mkdir -p $(BIN) $(CREDS_DIR)
	$(GO_BUILD) -tags standalone -o $(BIN)/sentry-standalone ./cmd/sentry
	$(BIN)/sentry-standalone --issuer-credentials $(CREDS_DIR) --trust-domain cluster.local --listen-address 127.0.0.1 --port 50001

.PHONY: envtest
envtest: ## Build etcd + kube-apiserver for test/envtest (skipped when present; WITH_KUBECTL=1, WITH_HELM=1 add those).
	./hack/envtest-assets.sh

# helm and kubectl for test/e2e (chart lint/template/install); cached after the
# first build (~75 s for helm, ~25 s for kubectl, 0 s once present).
.PHONY: e2e-tools
e2e-tools: ## Build etcd, kube-apiserver, kubectl and helm for test/e2e (skipped when present).
	WITH_HELM=1 WITH_KUBECTL=1 ./hack/envtest-assets.sh

# Dapr v1.18.3's own sentry, placement, scheduler, injector and operator,
# our daprsvid driver (a workload using Dapr's security provider) and Dapr's
# Helm chart, as oracles for the tests (test/daprbin); cached outside the
# clone, under a second once present.
.PHONY: dapr-tools
dapr-tools: ## Build Dapr 1.18.3's control plane, daprsvid and its chart for the tests (skipped when present).
	./hack/dapr-assets.sh

# Dapr's daprd sidecar (v1.18.2, -tags stablecomponents; see
# hack/tools/daprd/README.md) for the daprd conformance tests. Not a
# prerequisite of make test: its first build on a machine is long. Cached
# outside the clone, under a second once present.
.PHONY: daprd
daprd: ## Build Dapr 1.18.2's daprd for make test-daprd (skipped when present; ~13 min the first time on a machine).
	./hack/daprd-assets.sh

# Fails (never skips) naming make daprd when daprd is not built; .ci/run runs
# it only when hack/daprd-assets.sh --check finds daprd cached.
.PHONY: test-daprd
test-daprd: envtest dapr-tools ## Run the conformance tests with real daprds on our Sentry, self-hosted and in Kubernetes mode (needs make daprd first).
	$(GO) test $(TEST_FLAGS) -tags daprd -run '^TestDaprd' -v ./test/conformance/

.PHONY: test
test: e2e-tools dapr-tools ## Run every test (unit, fuzz seeds, integration and e2e against the real binaries), then the standalone build's own.
	$(GO) test $(TEST_FLAGS) ./...
	$(GO) test $(TEST_FLAGS) -tags standalone ./cmd/sentry/...

.PHONY: test-unit
test-unit: ## Run the tests that need no cached binary (no envtest, no Dapr binaries): seconds, for the inner loop.
	$(GO) test $(TEST_FLAGS) $$(./hack/unit-packages.sh)

.PHONY: test-e2e
test-e2e: e2e-tools ## Run only the chart tests and the end-to-end test (helm install into envtest).
	$(GO) test $(TEST_FLAGS) -v ./test/e2e/...

.PHONY: test-race
test-race: envtest ## Run every test with the race detector.
	$(GO) test $(TEST_FLAGS) -race ./...

.PHONY: bench
# sentrybench finds Dapr's sentry where dapr-tools puts it (test/daprbin:
# $DAPR_BIN, else the user cache directory); BENCH_ARGS adds or overrides
# flags, e.g. --duration 3s, --csr-key ecdsa-p256, --sentry $(BIN)/sentry
# (the full build), --dapr-sentry= (ours alone).
bench: build dapr-tools ## Benchmark SignCertificate: our standalone sentry (Ed25519 and P-256 keys) and Dapr 1.18.3's, alternating in one run; ratios of signs/s, CPU/sign, peak RSS (see test/bench).
	$(GO) build -o $(BIN)/sentrybench ./test/bench/sentrybench
	$(BIN)/sentrybench --sentry $(BIN)/sentry-standalone $(BENCH_ARGS)

.PHONY: generate
generate: ## Regenerate the gRPC code (api/sentry/v1), deep-copy code (api/config), CRDs (config/crd) and the chart's copy of them.
	./hack/generate-proto.sh
	./hack/generate-crd.sh
	./hack/sync-chart-crds.sh

.PHONY: verify
verify: generate ## Regenerate everything and fail if the tree changed.
	$(GO) mod tidy
	gofmt -l $$(git ls-files '*.go') | (! grep .) || { echo "gofmt needed"; exit 1; }
	git diff --exit-code -- api config charts/trustplane/crds go.mod go.sum || { echo "generated files are out of date: run make generate"; exit 1; }
	test -z "$$(git status --porcelain --untracked-files=all -- api config charts/trustplane/crds)" || { git status --short -- api config charts/trustplane/crds; echo "untracked generated files: run make generate and commit them"; exit 1; }

.PHONY: fuzz
fuzz: ## Fuzz every outside-input parser for FUZZTIME each (default 20s).
	./hack/fuzz.sh $${FUZZTIME:-20s}

.PHONY: lint
lint: ## gofmt, go vet, staticcheck (pinned in hack/tools), and that the standalone sentry links no client-go.
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); exit 1; }
	$(GO) vet ./...
	$(GO) vet -tags standalone ./cmd/sentry/...
	@mkdir -p $(BIN)
	cd hack/tools && $(GO) build -mod=readonly -o $(BIN)/ honnef.co/go/tools/cmd/staticcheck
	$(BIN)/staticcheck ./...
	$(BIN)/staticcheck -tags standalone ./cmd/sentry/...
	@! $(GO) list -deps -tags standalone ./cmd/sentry | grep -E '^k8s.io/(client-go|api)(/|$$)' || { echo "the standalone sentry build links the Kubernetes client (above): keep it out of files without the !standalone tag"; exit 1; }

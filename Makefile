# The FlinkCluster operator. `make help` lists the targets.
SHELL := /usr/bin/env bash -o pipefail
.DEFAULT_GOAL := help

BIN        := $(CURDIR)/bin
KUBECONFIG ?= $(BIN)/kubeconfig
KUBECTL    := $(BIN)/kubectl
GO_TEST    ?= go test
export PATH := $(BIN):$(PATH)

.PHONY: help
help: ## List the targets.
	@grep -E '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*## "}; {printf "  %-18s %s\n", $$1, $$2}'

##@ Build

.PHONY: build
build: ## Build the operator into bin/flink-operator and the kubectl plugin into bin/kubectl-flink.
	go build -o $(BIN)/flink-operator ./cmd/flink-operator
	go build -o $(BIN)/kubectl-flink ./cmd/kubectl-flink

.PHONY: generate
generate: ## Regenerate the clientset, listers, informers, deepcopy and the CRD.
	hack/update-codegen.sh
	hack/update-crd.sh

.PHONY: verify
verify: ## Fail if generated code, the CRD, formatting, import rules, vet or go.mod are not clean.
	hack/verify-codegen.sh
	hack/verify-crd.sh
	hack/verify-gofmt.sh
	hack/verify-imports.sh
	go vet ./...
	go vet -tags integration,flink,e2e ./...
	hack/verify-gomod.sh

##@ Local cluster

.PHONY: cluster
cluster: ## Build (once, cached in bin/) and start the local control plane with kwok nodes.
	hack/cluster-up.sh

.PHONY: cluster-down
cluster-down: ## Stop and remove the local cluster.
	hack/cluster-down.sh

.PHONY: install
install: ## Install the CRD into the cluster of $KUBECONFIG.
	KUBECONFIG=$(KUBECONFIG) hack/install-crd.sh

.PHONY: run
run: build install ## Install the CRD and run the operator against $KUBECONFIG in the foreground.
	$(BIN)/flink-operator --kubeconfig $(KUBECONFIG) --health-probe-bind-address=127.0.0.1:8081 --metrics-bind-address=127.0.0.1:8080 $(ARGS)

.PHONY: dev
dev: ## Local cluster + CRD + operator, in one command (Ctrl-C stops the operator; make cluster-down stops the cluster).
	hack/dev.sh

##@ Tests

.PHONY: test
test: verify test-unit test-integration test-flink test-e2e test-dev ## Run every test: verify, unit (race), integration on the local cluster, contract tests, end-to-end runs against real Flink and the make dev flow.

.PHONY: test-unit
test-unit: ## Unit and sync tests with the race detector.
	$(GO_TEST) -race -count=1 ./...

.PHONY: test-integration
test-integration: ## Integration tests on a local cluster that the suite starts and stops itself.
	hack/build-cluster-tools.sh
	$(GO_TEST) -tags integration -count=1 -timeout 20m -v ./test/integration/... 2>&1 | tee $(BIN)/test-integration.log | grep -E '^(=== RUN|--- |PASS|FAIL|ok|panic|\s+.*_test.go)' || (tail -50 $(BIN)/test-integration.log; exit 1)

.PHONY: test-flink
test-flink: ## Contract tests of the Flink REST client against real Apache Flink, the newest patch of every minor from 1.18 to 2.3 (local JVMs).
	hack/test-flink.sh > $(BIN)/test-flink.out 2>&1 || (tail -80 $(BIN)/test-flink.out; exit 1)
	@grep -E '^(--- |ok|FAIL|PASS|FACT)' $(BIN)/test-flink.log | grep -v '^    ' | tail -40

E2E_FLINK_VERSIONS ?= 2.3.0 1.20.5 1.18.1
# Every scenario runs on the newest version, a representative subset on 1.20 (docs/e2e.md), and on
# the versions in E2E_SMOKE_VERSIONS only the smoke subset E2E_SMOKE: a job through savepoints, an
# update and crashes, a session cluster and the latest state after crashes (application mode needs
# 1.19 or newer; the checkpoint keys changed at 1.20).
E2E_SMOKE_VERSIONS ?= 1.18.1
E2E_SMOKE ?= ^(TestJobClusterLifecycle|TestSessionCluster|TestLatestState)$$

.PHONY: test-e2e
test-e2e: ## End to end: the operator drives real Flink on a local node, per version in E2E_FLINK_VERSIONS (about 17 min on 2.3.0, 9 on 1.20.5, 6 for the smoke subset on 1.18.1).
	hack/build-cluster-tools.sh
	@for v in $(E2E_FLINK_VERSIONS); do \
	  run=; case " $(E2E_SMOKE_VERSIONS) " in *" $$v "*) run='-run=$(E2E_SMOKE)';; esac; \
	  echo "== e2e against Flink $$v $${run:+(smoke subset)}"; \
	  E2E_FLINK_VERSION=$$v $(GO_TEST) -tags e2e,flink -count=1 -timeout 25m -v $$run ./test/e2e/... 2>&1 | tee $(BIN)/test-e2e-$$v.log | grep -E '^(=== RUN|\s*--- |PASS|FAIL|ok|panic|\s+.*_test.go)' || { tail -80 $(BIN)/test-e2e-$$v.log; exit 1; }; \
	done

.PHONY: test-dev
test-dev: ## The make dev flow on its own cluster: the sample job in real Flink, its dashboard in headless Chromium, kubectl logs, a savepoint on disk (about 1 min).
	hack/build-cluster-tools.sh
	$(GO_TEST) -tags dev -count=1 -timeout 20m -v ./test/dev/... 2>&1 | tee $(BIN)/test-dev.log | grep -E '^(=== RUN|\s*--- |PASS|FAIL|ok|panic|\s+.*_test.go)' || { tail -80 $(BIN)/test-dev.log; exit 1; }

##@ Benchmarks

.PHONY: bench
bench: ## Benchmarks at 100 and 1,000 FlinkClusters on the local cluster; writes docs/benchmarks.md (about 25 min). ARGS="--with-5000 --with-sharded-10000" adds 5,000 (about 40 min more) and 10,000 over two shards (about 50 min more).
	hack/bench.sh $(ARGS)

.PHONY: bench-ci
bench-ci: ## CI-sized benchmark (50 clusters, about 2.5 min): fails on idle API writes or too many Flink REST polls.
	hack/bench.sh --ci

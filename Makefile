# The README's commands. `make test` is exactly what CI runs (see .ci/run).
GO ?= go
NPM ?= npm

# Node packages the tests use: the VS Code extension's unit tests (tsc) and the Node LSP client
# that drives the server from vscode-jsonrpc (lsp/integration_test.go).
NODE_DIRS := editors/vscode testdata/lspclient

.PHONY: build test vet fmt-check node-deps vscode-test arm64-test

build:
	$(GO) build -o bin/dream-lsp ./cmd/dream-lsp

vet:
	$(GO) vet ./...

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

# node-deps installs the locked Node packages (npm ci) where node_modules is missing, so a fresh
# clone tests like CI. Only a missing system tool (npm) skips, with the reason printed; under
# CI=true that is a failure.
node-deps:
	@for d in $(NODE_DIRS); do \
	  [ -d "$$d/node_modules" ] && continue; \
	  if command -v $(NPM) >/dev/null 2>&1; then \
	    echo "make: $$d/node_modules is missing: npm ci"; \
	    (cd "$$d" && $(NPM) ci --no-audit --no-fund) || exit 1; \
	  elif [ "$$CI" = true ]; then \
	    echo "make: npm not found, needed for $$d (CI=true: a missing tool fails)"; exit 1; \
	  else \
	    echo "make: SKIP npm ci in $$d: npm not found (install Node.js and npm to run the Node tests)"; \
	  fi; \
	done

# vscode-test runs the VS Code extension's unit tests (tsc, then node --test).
vscode-test: node-deps
	@if command -v $(NPM) >/dev/null 2>&1; then \
	  cd editors/vscode && $(NPM) test; \
	elif [ "$$CI" = true ]; then \
	  echo "make: npm not found, needed for the VS Code extension's unit tests (CI=true: a missing tool fails)"; exit 1; \
	else \
	  echo "make: SKIP the VS Code extension's unit tests: npm not found (install Node.js and npm)"; \
	fi

# arm64-test runs the CPU backend's tests built for arm64 (no cgo) under qemu-user: the NEON kernels
# against their exact definitions and the pure-Go ones, then the golden models' logits and greedy
# denoising traces on them (about 2 minutes under emulation).
arm64-test:
	@if [ "$$($(GO) env GOHOSTARCH)" = arm64 ]; then \
	  echo "make: arm64 host: go test ./... above ran the NEON kernels natively"; \
	elif command -v qemu-aarch64 >/dev/null 2>&1; then \
	  echo "make: the arm64 build's tests under qemu-user (NEON kernels, golden logits and traces)"; \
	  GOARCH=arm64 CGO_ENABLED=0 $(GO) test -exec qemu-aarch64 ./runtime/backend/cpu && \
	  GOARCH=arm64 CGO_ENABLED=0 $(GO) test -exec qemu-aarch64 -run 'TestForwardGolden' ./runtime/model && \
	  GOARCH=arm64 CGO_ENABLED=0 $(GO) test -exec qemu-aarch64 -run 'TestGoldenTraces$$' ./runtime/denoise; \
	elif [ "$$CI" = true ]; then \
	  echo "make: qemu-aarch64 not found, needed for the arm64 kernel tests (CI=true: a missing tool fails)"; exit 1; \
	else \
	  echo "make: SKIP the arm64 (NEON) kernel tests: qemu-aarch64 not found (Debian package qemu-user)"; \
	fi

test: fmt-check vet build node-deps
	# go test -json through internal/testsummary: failures in full, then the count of tests run and
	# skipped with every skip's reason (under CI only GPU tests and opt-in runs may skip).
	$(GO) run ./internal/testsummary -timeout 20m ./...
	# The race detector, which also checks unsafe pointer arithmetic (checkptr), on the CPU backend and
	# the engine's batching: a pointer formed past a weight's end crashed the garbage collector here.
	$(GO) test -race ./runtime/backend/cpu ./runtime/engine
	# A build without assembly (purego): the pure-Go kernels on the CPU backend's real paths, and
	# --matmul bf16 where no AMX tiles can run (the engine warns and runs float32 matmuls).
	$(GO) test -tags purego ./runtime/backend/cpu
	$(GO) test -tags purego -run 'BF16Matmul|MatmulFlag' ./runtime/engine ./cmd/dream-lsp
	# deploy/ is a module of its own (Kubernetes types): its manifests decoded strictly.
	cd deploy && $(GO) test ./...
	@$(MAKE) --no-print-directory arm64-test
	@$(MAKE) --no-print-directory vscode-test

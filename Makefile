# The README's commands. `make test` is exactly what CI runs (see .ci/run).
GO ?= go

.PHONY: build test vet fmt-check

build:
	$(GO) build -o bin/dream-lsp ./cmd/dream-lsp

vet:
	$(GO) vet ./...

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

test: fmt-check vet build
	# go test -json through internal/testsummary: failures in full, then the count of tests run and
	# skipped with every skip's reason (under CI only GPU tests and opt-in runs may skip).
	$(GO) run ./internal/testsummary -timeout 20m ./...
	# The VS Code extension's unit tests (.ci/run installs its node_modules with npm ci).
	cd editors/vscode && npm test

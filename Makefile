# zkraft: the two commands a newcomer needs are `make run` and `make test`.
GO      ?= go
BIN     := bin/zkraft
PKGS    := ./...

.PHONY: all build run test test-deps vet fmt-check soak test-franz-txn clean

all: build

build:
	$(GO) build -o $(BIN) ./cmd/zkraft

## run: build, then start the embedded default (one broker+controller, quorum mode,
## 127.0.0.1:9092, data in ./data).
run: build
	./$(BIN) serve

## test-deps: install what the tests need (kcat, ZooKeeper) when missing.
test-deps:
	@missing=""; \
	command -v kcat >/dev/null 2>&1 || missing="$$missing kcat"; \
	[ -x /usr/share/zookeeper/bin/zkServer.sh ] || missing="$$missing zookeeper"; \
	if [ -n "$$missing" ]; then \
		echo "installing:$$missing"; \
		SUDO=""; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing; \
	fi

vet:
	$(GO) vet $(PKGS)

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

## test: installs test dependencies, then vet, gofmt and every test with the race detector.
test: test-deps fmt-check vet build
	$(GO) test -race -count=1 -timeout 14m $(PKGS)

## soak: long chaos/soak runs, kept out of `make test`.
soak: build
	ZKRAFT_SOAK=1 $(GO) test -count=1 -timeout 60m -run Soak $(PKGS)

## test-franz-txn: franz-go's own transaction integration tests (TestTxn* in its pkg/kgo)
## against a zkraft node started from bin/zkraft; not part of `make test`. Result: docs/transactions.md.
test-franz-txn: build
	ZKRAFT=$(BIN) bash cmd/zkraft/testdata/franz-txn.sh

clean:
	rm -rf bin

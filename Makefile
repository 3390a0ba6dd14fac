# layerctl: build, test and demo. Tests and the demo run as root on Debian 12.
GO ?= go
# Go lives in /usr/local/go on the CI machines and is not always on PATH.
export PATH := $(PATH):/usr/local/go/bin

# Tools the tests and the demo need, and the Debian packages that provide them.
TEST_TOOLS := skopeo umoci docker-registry mkfs.ext4 buildah tmux ps
TEST_PKGS := docker-registry skopeo umoci busybox-static e2fsprogs buildah tmux procps

.PHONY: build deps test demo bench clean man install

# -s -w: no symbol table or DWARF (stack traces stay); urfave_cli_no_docs:
# no man-page generator linked in. A smaller binary that starts faster.
# The CLI tests build their binary through this target (with BIN set), so
# they test what users run.
# The init step of run and exec is a program of its own (cmd/layerctl-init,
# pkg/ns and x/sys only) embedded in layerctl (the initembed tag): it starts in
# a third of the time of the whole binary. Built to a temp name and renamed,
# since CLI tests may build at once. Its sha256, embedded beside it, names
# the copy a store keeps to run it from (pkg/ns/prespawn/cache.go).
BIN ?= bin/layerctl
# --version prints these; from git, else "dev" and "unknown".
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT ?= $(shell git rev-parse HEAD 2>/dev/null || echo unknown)
# On amd64 the binaries start at pkg/ns/prefault/entrypoint's entry point,
# which maps a binary's data and code before Go's runtime starts (1 ms off
# ps here); elsewhere prefault's init does it for layerctl, later.
ENTRY := $(if $(filter amd64,$(shell $(GO) env GOARCH 2>/dev/null)),-E github.com/layerctl/layerctl/pkg/ns/prefault/entrypoint.entry)
LDFLAGS := -s -w $(ENTRY) -X main.version=$(VERSION) -X main.commit=$(COMMIT)
INIT_BIN := pkg/ns/prespawn/layerctl-init.bin
# The binary is two programs in one file: the core (the core tag: every
# command but build and explore's TUI) and, past its ELF image, the full
# program it hands those two to (cmd/layerctl/handoff.go): without the
# builder's and the TUI's packages, every other command starts about 3 ms
# sooner. A plain `go build ./cmd/layerctl` makes the full program alone.
TAGS := urfave_cli_no_docs,initembed
# The heap starts at the start of its first mapping, as it did before Go 1.26
# put it anywhere in it (a hardening for programs that use cgo, which
# layerctl does not): pkg/ns/prefault then makes the heap's first two 2 MiB
# blocks huge pages. From a random start the heap often ran past its first
# mapping within a command, into pages faulted one by one: ps 9% slower, run
# 3%. Empty for a Go that no longer knows the setting.
HEAPBASE := $(shell GOEXPERIMENT=norandomizedheapbase64 $(GO) env GOEXPERIMENT 2>/dev/null)
build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags="-s -w $(ENTRY)" -o $(INIT_BIN).$$$$ ./cmd/layerctl-init && \
		sha256sum $(INIT_BIN).$$$$ | cut -c1-64 > $(INIT_BIN).sha256.$$$$ && \
		mv -f $(INIT_BIN).sha256.$$$$ $(INIT_BIN).sha256 && mv -f $(INIT_BIN).$$$$ $(INIT_BIN)
	CGO_ENABLED=0 GOEXPERIMENT=$(HEAPBASE) $(GO) build -trimpath -tags $(TAGS) -ldflags="$(LDFLAGS)" -o $(BIN).full ./cmd/layerctl
	CGO_ENABLED=0 GOEXPERIMENT=$(HEAPBASE) $(GO) build -trimpath -tags $(TAGS),core -ldflags="$(LDFLAGS)" -o $(BIN).core ./cmd/layerctl
	cat $(BIN).core $(BIN).full > $(BIN).tmp
	printf '\nlayerctl-full-program %020d %020d\n' $$(stat -c %s $(BIN).core) $$(stat -c %s $(BIN).full) >> $(BIN).tmp
	chmod 0755 $(BIN).tmp && mv -f $(BIN).tmp $(BIN) && rm -f $(BIN).core $(BIN).full

# The man page, from a build with urfave/cli's docs generator (which the
# release binary leaves out): $(MANDIR)/man8/layerctl.8.
MANDIR ?= out/man
man:
	$(GO) run ./cmd/layerctl man $(MANDIR)

# make install [PREFIX=/usr/local] [DESTDIR=staging dir]: the binary, the
# man page and the bash completion.
PREFIX ?= /usr/local
install: build man
	install -D -m 0755 $(BIN) $(DESTDIR)$(PREFIX)/bin/layerctl
	install -D -m 0644 $(MANDIR)/man8/layerctl.8 $(DESTDIR)$(PREFIX)/share/man/man8/layerctl.8
	install -d $(DESTDIR)$(PREFIX)/share/bash-completion/completions
	$(BIN) completion bash > $(DESTDIR)$(PREFIX)/share/bash-completion/completions/layerctl

# Installs the tools only when one is missing, so it is a no-op on a prepared machine.
# /bin/busybox must be the static one: it is copied into test images.
deps:
	@missing=; \
	for t in $(TEST_TOOLS); do command -v $$t >/dev/null || missing="$$missing $$t"; done; \
	{ [ -x /bin/busybox ] && ! ldd /bin/busybox >/dev/null 2>&1; } || missing="$$missing busybox-static"; \
	if [ -n "$$missing" ]; then \
		echo "deps: missing:$$missing; installing $(TEST_PKGS)"; \
		apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y $(TEST_PKGS); \
	fi

test: deps
	$(GO) vet ./...
	$(GO) test -count=1 -timeout 20m ./...

demo: build deps
	testdata/demo.sh

bench: build
	bench/all.sh

clean:
	rm -rf bin out $(INIT_BIN) $(INIT_BIN).sha256

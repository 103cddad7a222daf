# digitizer — make setup | test | demo | bench | man | completions | install
SHELL := /bin/bash
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
PREFIX ?= /usr/local
DESTDIR ?=
# Debian packages the project runs or builds sample discs with, and what the tests call
# (gcc + libc6-dev build their LD_PRELOAD libraries, mount has losetup, procps pgrep,
# openssl checks the cluster TLS tests' certificates);
# python3-venv makes .venv. tests/test_setup.py checks this list against the tests.
APT_PACKAGES := lsdvd cd-paranoia dvdauthor genisoimage eject ffmpeg fonts-dejavu-core man-db groff-base systemd gddrescue gcc libc6-dev mount procps python3-venv openssl
BENCH_APT := dvdbackup handbrake-cli mkvtoolnix p7zip-full
STAMP := $(VENV)/.installed

.PHONY: setup test demo bench man completions install clean

setup: apt-check $(STAMP)

apt-check:
	@missing=""; for p in $(APT_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  SUDO=""; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	fi

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q -e '.[test]'
	@touch $(STAMP)

test: setup
	$(BIN)/python -m pytest -q -p no:cacheprovider tests

demo: setup
	$(BIN)/python tests/demo.py

bench: setup
	@missing=""; for p in $(BENCH_APT); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then SUDO=""; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends $$missing >/dev/null; fi
	$(BIN)/python tests/bench/bench.py

# The man pages (man/man1: `MANPATH=man man digitizer` works from a checkout) and
# completion scripts are committed; regenerate them whenever a command,
# option or help text changes (tests/test_docs.py fails on stale ones).
man: setup
	$(BIN)/python -m digitizer.cli.docgen man man

completions: setup
	$(BIN)/python -m digitizer.cli.docgen completions completions

# install: its own venv under $(PREFIX)/lib/digitizer (Debian's Python lacks the
# dependencies and its sqlite-utils is too old), a launcher in $(PREFIX)/bin that runs it,
# the man pages, completions, the systemd units and the udev rule. The units are written by
# the installed program itself (python -m digitizer.units), as `watch --print-systemd` does,
# so they always agree; they run as $(SERVICE_USER)[:$(SERVICE_GROUP)]. With a TLS cluster,
# CLUSTER_TLS_CA, CLUSTER_TLS_CERT and CLUSTER_TLS_KEY name the coordinator's certificate
# files, which the units load as systemd credentials (README: Cluster security).
# Works with DESTDIR staging: the launcher runs the venv's python (which finds its venv by
# its own location), never the venv's scripts, whose first lines name the staging folder.
LIBDIR := $(PREFIX)/lib/digitizer
SERVICE_USER ?= digitizer
SERVICE_GROUP ?=
CLUSTER_TLS_CA ?=
CLUSTER_TLS_CERT ?=
CLUSTER_TLS_KEY ?=
install:
	rm -rf "$(DESTDIR)$(LIBDIR)"
	$(PY) -m venv "$(DESTDIR)$(LIBDIR)"
	"$(DESTDIR)$(LIBDIR)/bin/python" -m pip install -q --disable-pip-version-check --no-warn-script-location .
	install -d "$(DESTDIR)$(PREFIX)/bin" "$(DESTDIR)$(PREFIX)/share/man/man1"
	printf '%s\n' '#!/bin/sh' '# digitizer launcher written by `make install`.' \
	  'DIGITIZER_LAUNCHER="$$0" exec "$(LIBDIR)/bin/python" -m digitizer "$$@"' \
	  > "$(DESTDIR)$(PREFIX)/bin/digitizer"
	chmod 755 "$(DESTDIR)$(PREFIX)/bin/digitizer"
	install -m 644 man/man1/*.1 "$(DESTDIR)$(PREFIX)/share/man/man1/"
	install -D -m 644 completions/digitizer.bash "$(DESTDIR)$(PREFIX)/share/bash-completion/completions/digitizer"
	install -D -m 644 completions/digitizer.zsh "$(DESTDIR)$(PREFIX)/share/zsh/site-functions/_digitizer"
	install -D -m 644 completions/digitizer.fish "$(DESTDIR)$(PREFIX)/share/fish/vendor_completions.d/digitizer.fish"
	"$(DESTDIR)$(LIBDIR)/bin/python" -m digitizer.units "$(DESTDIR)$(PREFIX)/lib/systemd/system" \
	  "$(PREFIX)/bin/digitizer" "$(SERVICE_USER)" "$(SERVICE_GROUP)" \
	  "$(CLUSTER_TLS_CA)" "$(CLUSTER_TLS_CERT)" "$(CLUSTER_TLS_KEY)"
	install -d "$(DESTDIR)$(PREFIX)/lib/udev/rules.d"
	mv "$(DESTDIR)$(PREFIX)/lib/systemd/system/60-digitizer.rules" "$(DESTDIR)$(PREFIX)/lib/udev/rules.d/"

clean:
	rm -rf demo tests/.cache .pytest_cache

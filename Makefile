# digitizer — make setup | test | demo | bench | man | completions | install
SHELL := /bin/bash
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
PREFIX ?= /usr/local
DESTDIR ?=
# Debian packages the project runs or builds sample discs with.
APT_PACKAGES := lsdvd dvdauthor genisoimage eject ffmpeg fonts-dejavu-core man-db groff-base
BENCH_APT := dvdbackup handbrake-cli
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

# The man pages and completion scripts are committed; regenerate them whenever a command,
# option or help text changes (tests/test_docs.py fails on stale ones).
man: setup
	$(BIN)/python -m digitizer.cli.docgen man man

completions: setup
	$(BIN)/python -m digitizer.cli.docgen completions completions

# install copies committed files only: no build, no network, no venv. The package goes to a
# private folder that the launcher puts on sys.path, so no venv or pip path is baked into
# $(PREFIX)/bin/digitizer; INSTALL_PYTHON must be able to import the dependencies
# (click, tomli-w, sqlite-utils, tqdm, imageio-ffmpeg).
PKGDIR := $(PREFIX)/share/digitizer
INSTALL_PYTHON ?= /usr/bin/python3
install:
	rm -rf "$(DESTDIR)$(PKGDIR)/digitizer"
	install -d "$(DESTDIR)$(PKGDIR)/digitizer" "$(DESTDIR)$(PREFIX)/bin" "$(DESTDIR)$(PREFIX)/share/man/man1"
	# the package tree: every .py of every subpackage, and the data files
	cd digitizer && find . \( -name '*.py' -o -path './data/*' \) -type f -not -path '*/__pycache__/*' \
	  -exec install -D -m 644 {} "$(DESTDIR)$(PKGDIR)/digitizer/{}" \;
	printf '%s\n' '#!$(INSTALL_PYTHON)' '# digitizer launcher written by `make install`.' \
	  'import sys' 'sys.path.insert(0, "$(PKGDIR)")' 'from digitizer.cli import main' \
	  'sys.exit(main())' > "$(DESTDIR)$(PREFIX)/bin/digitizer"
	chmod 755 "$(DESTDIR)$(PREFIX)/bin/digitizer"
	install -m 644 man/*.1 "$(DESTDIR)$(PREFIX)/share/man/man1/"
	install -D -m 644 completions/digitizer.bash "$(DESTDIR)$(PREFIX)/share/bash-completion/completions/digitizer"
	install -D -m 644 completions/digitizer.zsh "$(DESTDIR)$(PREFIX)/share/zsh/site-functions/_digitizer"
	install -D -m 644 completions/digitizer.fish "$(DESTDIR)$(PREFIX)/share/fish/vendor_completions.d/digitizer.fish"
	if [ -f digitizer/data/digitizer-watch.service ]; then install -D -m 644 digitizer/data/digitizer-watch.service \
	  "$(DESTDIR)$(PREFIX)/lib/systemd/system/digitizer-watch.service"; fi
	if [ -f digitizer/data/60-digitizer.rules ]; then install -D -m 644 digitizer/data/60-digitizer.rules \
	  "$(DESTDIR)$(PREFIX)/lib/udev/rules.d/60-digitizer.rules"; fi

clean:
	rm -rf demo tests/.cache .pytest_cache

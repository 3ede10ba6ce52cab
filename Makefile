# make run   - set up .venv, initialise ./var on first use, start the gateway, open the shell
# make stop  - stop the gateway
# make test  - set up .venv with the test extras, install the test peers (as root with apt), run pytest
# make test-postgres - the same suite with each test's configuration, accounts and tracking search on PostgreSQL
# make bench-peers - also install what the benchmarks compare against (Rspamd); benchmarks: bench/*.py
# make wheel      - dist/asyncos_cli-*.whl: the gateway with its man pages, MIB, systemd units and cloud-init example
# make wheelhouse - dist/wheelhouse: that wheel and every wheel it needs (what the container image installs)
# make image      - the OCI image from packaging/container/Containerfile (podman, else docker)

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
export ASYNCOS_DATA ?= $(CURDIR)/var

.PHONY: run stop test test-postgres bytecode peers bench-peers bench clean wheel wheelhouse image

PEERS ?= tests/peers.txt

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: setup.cfg setup.py pyproject.toml scanning/extract/_spin.c scanning/dlp/_keywords.c | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: setup.cfg setup.py pyproject.toml scanning/extract/_spin.c scanning/dlp/_keywords.c | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(VENV)/.installed $@

# Our modules' bytecode, written ahead: where PYTHONDONTWRITEBYTECODE is set (as on these machines) every process
# would compile them from source again, a quarter of a second of CPU for each daemon or shell started.
bytecode: | $(BIN)/python
	@$(BIN)/python -m compileall -q asyncos_cli commands scanning tests bench >/dev/null

run: $(VENV)/.installed bytecode
	@$(BIN)/asyncos-cli -c version >/dev/null 2>&1 || $(BIN)/asyncos-cli init
	@$(BIN)/asyncos-cli serve --detach
	@$(BIN)/asyncos-cli

stop: $(VENV)/.installed
	@$(BIN)/asyncos-cli stop

peers:
	@missing=$$(grep -v '^#' $(PEERS) | while read pkg cmd; do \
	    [ -n "$$pkg" ] && ! command -v $$cmd >/dev/null 2>&1 && echo $$pkg; done | sort -u); \
	if [ -z "$$missing" ]; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "installing test peers: $$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	else \
	    echo "test peers missing (tests that need them are skipped): $$missing"; \
	fi

bench-peers: peers
	@$(MAKE) --no-print-directory peers PEERS=bench/peers.txt

# The IETF's SMI modules (SNMPv2-SMI, -TC, -CONF...), which Debian does not ship, for the MIB checks (smilint,
# net-snmp reading the gateway's MIB): taken from npm's net-snmp package, which carries them.
IETF_MIBS := .cache/ietf-mibs
NET_SNMP_NPM := net-snmp@3.29.2

$(IETF_MIBS)/SNMPv2-SMI.mib:
	@mkdir -p $(IETF_MIBS) .cache/npm
	@if command -v npm >/dev/null 2>&1; then \
	    tgz=$$(cd .cache/npm && npm pack --silent $(NET_SNMP_NPM)) && \
	    tar -xzf .cache/npm/$$tgz -C $(IETF_MIBS) --strip-components=3 package/lib/mibs; \
	else echo "npm missing: the MIB checks that need the IETF modules are skipped"; fi

# The suite spread over worker processes (pytest-xdist), a module to a worker: a serial run leaves the two cores
# idle half the time (tests wait on daemons and peers). TEST_WORKERS=0 runs it in one process.
TEST_WORKERS ?= 4
XDIST = $(if $(filter 0,$(TEST_WORKERS)),,-n $(TEST_WORKERS) --dist loadscope --no-loadscope-reorder)

test: $(VENV)/.installed-test bytecode peers $(IETF_MIBS)/SNMPv2-SMI.mib
	$(BIN)/python -m pytest -q $(XDIST) $(PYTEST_ARGS)

# The whole suite with every test's data directory in a one-machine cluster on PostgreSQL (not in CI: its time).
test-postgres: $(VENV)/.installed-test bytecode peers $(IETF_MIBS)/SNMPv2-SMI.mib
	ASYNCOS_TEST_STORE=postgresql $(BIN)/python -m pytest -q $(XDIST) $(PYTEST_ARGS)

bench: $(VENV)/.installed
	$(BIN)/python bench/cli_startup.py

wheel: | $(BIN)/python
	rm -f dist/asyncos_cli-*.whl
	$(BIN)/pip wheel --quiet --no-deps --wheel-dir dist .

wheelhouse: wheel
	rm -rf dist/wheelhouse
	$(BIN)/pip wheel --quiet --wheel-dir dist/wheelhouse dist/asyncos_cli-*.whl

# With podman, --format docker: its default OCI format drops the HEALTHCHECK.
IMAGE_TOOL ?= $(shell command -v podman || command -v docker)
image: wheelhouse
	@test -n "$(IMAGE_TOOL)" || { echo "make image needs podman or docker"; exit 1; }
	$(IMAGE_TOOL) build $(if $(findstring podman,$(IMAGE_TOOL)),--format docker) -f packaging/container/Containerfile \
	    -t asyncos-cli:$$($(BIN)/python -c 'import asyncos_cli; print(asyncos_cli.__version__)') -t asyncos-cli:latest .

clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache .cache

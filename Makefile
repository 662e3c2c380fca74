# The documented commands. `make synth` and `make test` build the environment first when it is
# missing or older than Pipfile.lock; on a built environment they start at once.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
TOOLS := .tools
PIPENV_VERSION := 2026.10.3
PIPENV := $(TOOLS)/bin/pipenv
STAMP := $(VENV)/.synced-from-lock
# checkov (the Terraform security scanner) pins boto3 1.35, moto needs 1.44: its own environment.
CHECKOV := $(TOOLS)/checkov/bin/checkov

export PIPENV_VENV_IN_PROJECT := 1
export PIPENV_IGNORE_VIRTUALENVS := 1
export PIPENV_VERBOSITY := -1
# jsii prints a large end-of-life banner on Node 20; it works, and the README says to use 22 or 24.
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := $(shell node -p 'process.versions.node.split(".")[0]' 2>/dev/null)

.PHONY: synth test test-alert bench lint format update-snapshots clean

synth: $(STAMP)
	$(VENV)/bin/python main.py

test: $(STAMP) $(CHECKOV)
	$(VENV)/bin/python -m pytest

# Send a test alert through the deployed alert Lambda (needs the AWS CLI, terraform and a deployed stack).
test-alert: $(STAMP)
	@folder=$$($(VENV)/bin/python main.py --stack-folder) && tools/test-alert "$$folder" "$${folder##*/}"

# Timings, as medians of alternating runs; exits non-zero when a goal is missed.
bench: $(STAMP)
	$(VENV)/bin/python tools/bench.py

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: $(STAMP)
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

# Rewrite the committed snapshot of the default stack after an intended change; review the diff.
update-snapshots: $(STAMP)
	$(VENV)/bin/python -m pytest tests/test_snapshot.py --snapshot-update

# pipenv itself lives in its own small environment, so it needs nothing from the machine but python3.
$(PIPENV):
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/python -m pip install --quiet --disable-pip-version-check pipenv==$(PIPENV_VERSION)

$(CHECKOV): tools/checkov-requirements.txt
	$(PYTHON) -m venv $(TOOLS)/checkov
	$(TOOLS)/checkov/bin/python -m pip install --quiet --disable-pip-version-check -r $<
	touch $@

$(STAMP): Pipfile.lock | $(PIPENV)
	$(PIPENV) sync --dev
	touch $@

clean:
	rm -rf $(VENV) $(TOOLS) cdktf.out .pytest_cache

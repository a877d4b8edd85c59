# The front door. `make help` lists every target; README.md explains them.
SHELL := /bin/bash
.DEFAULT_GOAL := help
.DELETE_ON_ERROR:

LOCAL        := .local
VENV         := .venv
PY           := $(VENV)/bin/python
LS_VENV      := $(LOCAL)/venv-localstack
LAMBDA_VENV  := $(LOCAL)/venv-lambda
SPOTLIGHT    := localstack/spotlight
EXECUTOR_SRC := $(wildcard localstack/executor/pyproject.toml localstack/executor/lambda_process_executor/*.py)
PIP_QUIET    := --quiet --disable-pip-version-check
export PYTHONPATH := $(CURDIR)/localstack

PYTHON313 = $(shell scripts/find-python313)

.PHONY: help envs up down status test lint format clean

help: ## list the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/:.*## /\t/' | expand -t 18

# --- environments (created on first use, rebuilt when their pinned inputs change) ---------
$(VENV)/.installed: requirements/dev.txt
	@py=$$(scripts/find-python313) || exit 1; \
	  echo "==> dev environment $(VENV) (Python 3.13)"; \
	  [ -x $(PY) ] || $$py -m venv $(VENV)
	$(PY) -m pip install $(PIP_QUIET) -r requirements/dev.txt
	@touch $@

$(LS_VENV)/.installed: localstack/requirements.txt $(EXECUTOR_SRC)
	@py=$$(scripts/find-python313) || exit 1; \
	  echo "==> LocalStack environment $(LS_VENV)"; \
	  [ -x $(LS_VENV)/bin/python ] || $$py -m venv $(LS_VENV)
	$(LS_VENV)/bin/python -m pip install $(PIP_QUIET) -r localstack/requirements.txt
	$(LS_VENV)/bin/python -m pip install $(PIP_QUIET) --no-deps --force-reinstall ./localstack/executor
	@rm -rf localstack/executor/build localstack/executor/*.egg-info
	@touch $@

$(LAMBDA_VENV)/.installed: requirements/lambda-runtime.txt
	@py=$$(scripts/find-python313) || exit 1; \
	  echo "==> Lambda runtime environment $(LAMBDA_VENV) (awslambdaric + boto3 only)"; \
	  [ -x $(LAMBDA_VENV)/bin/python ] || $$py -m venv $(LAMBDA_VENV)
	$(LAMBDA_VENV)/bin/python -m pip install $(PIP_QUIET) -r requirements/lambda-runtime.txt
	@touch $@

$(SPOTLIGHT)/node_modules/.installed: $(SPOTLIGHT)/package.json $(SPOTLIGHT)/package-lock.json
	@echo "==> Spotlight (npm ci)"
	cd $(SPOTLIGHT) && npm ci --no-audit --no-fund --loglevel=error
	@touch $@

envs: $(VENV)/.installed $(LS_VENV)/.installed $(LAMBDA_VENV)/.installed $(SPOTLIGHT)/node_modules/.installed ## create the dev, LocalStack, Lambda runtime and Spotlight environments

# --- local services -----------------------------------------------------------------------
up: envs ## start LocalStack, MongoDB and Spotlight on 127.0.0.1 (idempotent)
	$(PY) -m localcloud up

down: ## stop exactly what `make up` started, by PID (also every Lambda environment)
	@if [ -x $(PY) ]; then $(PY) -m localcloud down; else echo "nothing to stop"; fi

status: ## show what runs, where, and the log files
	@$(PY) -m localcloud status

# --- quality ------------------------------------------------------------------------------
test: envs ## run every test (starts its own services on other ports, stops them after)
	$(PY) -m pytest

lint: $(VENV)/.installed ## ruff check and format check
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: $(VENV)/.installed ## apply ruff's formatting and safe fixes
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

clean: down ## stop the services and delete every environment and local state
	rm -rf $(LOCAL) $(VENV) $(SPOTLIGHT)/node_modules

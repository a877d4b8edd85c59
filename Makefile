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
UV           := $(VENV)/bin/uv
# every environment's installs: pinned files, bytecode compiled (as pip would) for start-up time
UV_INSTALL   := $(UV) pip install --quiet --compile-bytecode
export PYTHONPATH := $(CURDIR):$(CURDIR)/localstack:$(CURDIR)/localstack/executor:$(CURDIR)/layers/common/python
export SAM_CLI_TELEMETRY := 0
FRONTEND     := frontend

PYTHON313 = $(shell scripts/find-python313)

# settings and secrets from .env, if there is one (.env.example lists them); the environment wins
ifneq (,$(wildcard .env))
  $(shell mkdir -p $(LOCAL) && sed -nE 's/^([A-Za-z_][A-Za-z0-9_]*)=(.*)$$/\1 ?= \2/p' .env > $(LOCAL)/dotenv.mk)
  include $(LOCAL)/dotenv.mk
  export $(shell sed -nE 's/^([A-Za-z_][A-Za-z0-9_]*)=.*/\1/p' .env)
endif

.PHONY: aws-parity help envs up down status test lint format clean deploy-local destroy-local deploy-aws destroy-aws invoke logs page build seed validate scenarios bench load power-tune cold-start watch debug test-fast

help: ## list the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/:.*## /\t/' | expand -t 18

# --- environments (created on first use, rebuilt when their pinned inputs change) ---------
# the installer first: .venv with pip, then uv (requirements/installer.txt) into it
$(UV): requirements/installer.txt
	@scripts/check-prerequisites
	@py=$$(scripts/find-python313) || exit 1; \
	  echo "==> dev environment $(VENV) (Python 3.13) and its installer, uv"; \
	  [ -x $(PY) ] || $$py -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements/installer.txt
	@touch $@

$(VENV)/.installed: requirements/dev.txt $(UV)
	$(UV_INSTALL) --python $(PY) -r requirements/dev.txt
	@# the project's import roots, so that `.venv/bin/python -m deploy.build` works outside make too
	@printf '%s\n' $(subst :, ,$(PYTHONPATH)) > "$$($(PY) -c 'import sysconfig; print(sysconfig.get_path("purelib"))')/slot-machine-project.pth"
	@touch $@

$(LS_VENV)/.installed: localstack/requirements.txt $(EXECUTOR_SRC) $(UV)
	@py=$$(scripts/find-python313) || exit 1; \
	  echo "==> LocalStack environment $(LS_VENV)"; \
	  [ -x $(LS_VENV)/bin/python ] || $$py -m venv $(LS_VENV)
	$(UV_INSTALL) --python $(LS_VENV)/bin/python -r localstack/requirements.txt
	$(UV_INSTALL) --python $(LS_VENV)/bin/python --no-deps --reinstall ./localstack/executor
	@rm -rf localstack/executor/build localstack/executor/*.egg-info
	@touch $@

$(LAMBDA_VENV)/.installed: requirements/lambda-runtime.txt $(UV)
	@py=$$(scripts/find-python313) || exit 1; \
	  echo "==> Lambda runtime environment $(LAMBDA_VENV) (awslambdaric + boto3 only)"; \
	  [ -x $(LAMBDA_VENV)/bin/python ] || $$py -m venv --without-pip $(LAMBDA_VENV)
	$(UV_INSTALL) --python $(LAMBDA_VENV)/bin/python -r requirements/lambda-runtime.txt
	@touch $@

# the other Lambda Python runtimes, each on its own CPython where the machine has it
$(LOCAL)/lambda-runtimes.installed: scripts/build-lambda-runtimes $(wildcard requirements/lambda-runtime*.txt) $(UV)
	@scripts/build-lambda-runtimes $(LOCAL) $(UV)
	@touch $@

$(LOCAL)/debugpy/.installed: requirements/debugpy.txt $(LAMBDA_VENV)/.installed
	@echo "==> debugpy for make debug ($(LOCAL)/debugpy, outside the runtime's environment)"
	$(UV_INSTALL) --python $(LAMBDA_VENV)/bin/python --target $(LOCAL)/debugpy -r requirements/debugpy.txt
	@touch $@

$(SPOTLIGHT)/node_modules/.installed: $(SPOTLIGHT)/package.json $(SPOTLIGHT)/package-lock.json
	@echo "==> Spotlight (npm ci)"
	cd $(SPOTLIGHT) && npm ci --no-audit --no-fund --loglevel=error
	@touch $@

$(FRONTEND)/node_modules/.installed: $(FRONTEND)/package.json $(FRONTEND)/package-lock.json
	@echo "==> page build tools (npm ci)"
	cd $(FRONTEND) && npm ci --no-audit --no-fund --loglevel=error
	@touch $@

envs: $(VENV)/.installed $(LS_VENV)/.installed $(LAMBDA_VENV)/.installed $(LOCAL)/lambda-runtimes.installed $(LOCAL)/debugpy/.installed $(SPOTLIGHT)/node_modules/.installed $(FRONTEND)/node_modules/.installed ## create the dev, LocalStack, Lambda runtime and Spotlight environments

# --- local services -----------------------------------------------------------------------
up: envs ## start LocalStack, MongoDB and Spotlight on 127.0.0.1 (idempotent)
	$(PY) -m localcloud up

down: ## stop exactly what `make up` started, by PID (also every Lambda environment)
	@if [ -x $(PY) ]; then $(PY) -m localcloud down; else echo "nothing to stop"; fi

status: ## show what runs, where, and the log files
	@$(PY) -m localcloud status

# --- the product on the local cloud ------------------------------------------------------
deploy-local: envs page ## everything: services, build, stack, seed data, page; prints the URLs
	$(PY) -m deploy.local deploy

deploy-aws: envs page ## the product on a real AWS account with the SAM CLI (needs MONGODB_URI and AWS credentials)
	$(PY) -m deploy.aws deploy

destroy-aws: $(VENV)/.installed ## delete the AWS stack (and empty its page bucket); needs AWS credentials, not MONGODB_URI
	$(PY) -m deploy.aws destroy

destroy-local: $(VENV)/.installed ## delete the stack (and the page and artifact buckets)
	$(PY) -m deploy.local destroy

invoke: envs ## run one function like `sam local invoke`: make invoke FUNCTION=<logical id> EVENT=events/<file> [HOT_RELOAD=1] [DEBUG_PORT=5678 [WAIT=1]]
	@[ -n "$(FUNCTION)" ] && [ -n "$(EVENT)" ] || { echo "usage: make invoke FUNCTION=UserServiceFunction EVENT=events/history-n-plus-one.json"; exit 2; }
	$(PY) -m dev.invoke $(FUNCTION) $(EVENT) $(if $(filter 1 true yes,$(HOT_RELOAD)),--hot-reload) $(if $(DEBUG_PORT),--debug-port $(DEBUG_PORT)) $(if $(WAIT),--wait)

watch: envs page ## deploy with hot reload, then tell what each save changes: the next invoke runs the working tree's code
	$(PY) -m dev.watch

debug: $(VENV)/.installed ## attach a debugger: make debug FUNCTION=<logical id> [PORT=5678] [WAIT=1] (STOP=1 takes it off)
	@[ -n "$(FUNCTION)" ] || { echo "usage: make debug FUNCTION=UserServiceFunction [PORT=5678] [WAIT=1] [STOP=1]"; exit 2; }
	$(PY) -m dev.debug $(FUNCTION) $(if $(PORT),--port $(PORT)) $(if $(WAIT),--wait) $(if $(STOP),--stop)

power-tune: envs ## duration and cost per MemorySize at AWS's CPU share: make power-tune FUNCTION=<logical id> EVENT=events/<file>
	@[ -n "$(FUNCTION)" ] && [ -n "$(EVENT)" ] || { echo "usage: make power-tune FUNCTION=GameEngineFunction EVENT=events/cpu-spike.json [ARGS='--memory 256,1769 --invokes 3']"; exit 2; }
	$(PY) -m perf.power_tune $(FUNCTION) $(EVENT) $(ARGS)

logs: $(VENV)/.installed ## a function's CloudWatch logs: make logs FUNCTION=<logical id or name>
	@[ -n "$(FUNCTION)" ] || { echo "usage: make logs FUNCTION=GameEngineFunction"; exit 2; }
	$(PY) -m dev.logs $(FUNCTION)

page: $(FRONTEND)/node_modules/.installed ## build the debug page into frontend/dist (offline, from npm packages)
	cd $(FRONTEND) && node build.mjs

build: envs ## build the layers and function packages (sizes against Lambda's limits)
	$(PY) -m deploy.build

seed: $(VENV)/.installed ## seed MongoDB with the demo data (idempotent)
	$(PY) -m deploy.seed

scenarios: $(VENV)/.installed ## run every scenario and fix on the deployed stack; check each Sentry signal (--json: ARGS=--json)
	$(PY) -m demo.scenarios $(ARGS)

cold-start: $(VENV)/.installed ## the next invoke of both cold-start functions starts a new environment (a configuration change, as on AWS)
	$(PY) -m demo.cold_start

load: $(VENV)/.installed ## 100 spins from 100 concurrent clients (default) through API Gateway, then check that nothing was lost (ARGS=--spins N --concurrency N)
	$(PY) -m perf.load $(ARGS)

bench: $(VENV)/.installed ## measure cold/warm, Sentry's cost, executor overhead, scenarios, deploy, memory -> docs/benchmarks.md
	$(PY) -m perf.bench $(ARGS)

aws-parity: $(VENV)/.installed ## LocalStack's AWS-recorded Lambda tests against make up's LocalStack: make aws-parity SOURCE=<localstack/localstack checkout> (docs/fidelity.md)
	@[ -n "$(SOURCE)" ] || { echo "usage: make aws-parity SOURCE=<a localstack/localstack checkout or its git dir> [ARGS=-x]"; exit 2; }
	$(PY) -m dev.aws_parity $(SOURCE) $(ARGS)

validate: $(VENV)/.installed ## sam validate --lint on template.yaml
	$(VENV)/bin/sam validate --lint --template template.yaml

# --- quality ------------------------------------------------------------------------------
# two workers, whole files each (a worker's services are its own: tests/conftest.py), and a
# third for the files that mostly wait (OWN_WORKER, tests/support/scheduling.py); then the tests
# marked serial (CPU time against a quota), alone
test: envs page ## run every test (starts its own services on other ports, stops them after), two workers and one for deploy-aws's waits, then the CPU-share tests alone
	$(PY) -m pytest -n 3 --dist loadfile --no-loadscope-reorder -m "not serial" --durations=10
	$(PY) -m pytest -m serial --durations=5

test-fast: $(VENV)/.installed ## the offline unit tests for the inner loop (no LocalStack, no Lambda runtimes), under a minute
	$(PY) -m pytest -n 2 --dist loadfile -m "not localstack and not runtime" -q

lint: $(VENV)/.installed $(FRONTEND)/node_modules/.installed ## ruff, mypy (strict on the common layer and the executor), prettier on the page
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy deploy dev demo perf localstack/localcloud layers/common/python/slot_common localstack/executor/lambda_process_executor
	cd $(FRONTEND) && npx --no-install prettier --check src build.mjs

format: $(VENV)/.installed $(FRONTEND)/node_modules/.installed ## apply ruff's and prettier's formatting and safe fixes
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .
	cd $(FRONTEND) && npx --no-install prettier --write src build.mjs

clean: down ## stop the services and delete every environment, build and local state
	rm -rf $(LOCAL) $(VENV) $(SPOTLIGHT)/node_modules $(FRONTEND)/node_modules $(FRONTEND)/dist artifacts

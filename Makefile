# sam-code-deploy. Two commands on a fresh machine:  make demo  |  make test
# Everything runs against the embedded emulator (MiniStack on 127.0.0.1:$(EMULATOR_PORT)) unless said otherwise.

SHELL := /bin/bash
.DEFAULT_GOAL := help

# The emulator's port, once chosen, is remembered in .emulator/port: after `make demo EMULATOR_PORT=4599`,
# `make test` talks to that emulator too, never silently to another one on 4566. `make clean` forgets it.
EMULATOR_PORT_FILE := .emulator/port
ifneq ($(filter command line environment,$(origin EMULATOR_PORT)),)
ifeq ($(shell echo '$(EMULATOR_PORT)' | grep -Ex '[0-9]{1,5}'),)
$(error EMULATOR_PORT must be a port number, not '$(EMULATOR_PORT)')
endif
$(shell mkdir -p .emulator && echo '$(EMULATOR_PORT)' > $(EMULATOR_PORT_FILE))
else
EMULATOR_PORT := $(or $(shell cat $(EMULATOR_PORT_FILE) 2>/dev/null),4566)
endif
STACK_NAME ?= sam-code-deploy
# Extra `sam deploy` parameter overrides, e.g. make deploy PARAMS='HostsPerRegion=5000'
PARAMS ?=
# Locally, artifacts over 8 MiB take the multipart copy path (on AWS: over 5 GiB), so tests exercise it,
# and tracing is off (the emulator has no X-Ray), which spares every cold start the X-Ray SDK.
LOCAL_PARAMS := MultipartCopyThresholdBytes=8388608 MultipartCopyPartBytes=5242880 TraceDisabled=true

PYTHON313 := $(shell scripts/find-python313.sh 2>/dev/null)
# `sam build` looks for the runtime's python3.13 on PATH.
SAM_PATH := $(dir $(PYTHON313)):$(PATH)

TOOLS := .venv/tools/bin
TEST := .venv/test/bin

# What every command that talks to the emulator gets. boto3 and SAM CLI read AWS_ENDPOINT_URL.
# The tools (tools/, bench/) import the domain package as the functions do.
LOCAL_ENV := AWS_ENDPOINT_URL=http://127.0.0.1:$(EMULATOR_PORT) AWS_DEFAULT_REGION=us-east-1 AWS_REGION=us-east-1 \
	AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test STACK_NAME=$(STACK_NAME) SAM_CLI_TELEMETRY=0 \
	PYTHONPATH=$(CURDIR)/layers/code_deploy

# The global stack, then a regional stack per region (tools/deploy.py: plain `sam deploy`s, the same on AWS).
SAM_DEPLOY = $(LOCAL_ENV) PATH="$(SAM_PATH)" $(TOOLS)/python -m tools.deploy --stack-name $(STACK_NAME) \
	$(LOCAL_PARAMS) $(PARAMS)
# Real AWS: make deploy-aws [STACK_NAME=x] [HOME_REGION=us-east-1] [REGIONS=us-west-2,eu-west-1] [PARAMS=...]
HOME_REGION ?= us-east-1
REGIONS ?=

.PHONY: help venvs emulator emulator-stop build deploy deploy-aws redeploy demo lint unit integration e2e test load bench bench-p2p fleet fleet-stop invoke openapi local-env clean capacity local-build local-invoke local-api docker-test docker-stop

help: ## This list
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed -e 's/$$(EMULATOR_PORT)/$(EMULATOR_PORT)/g' -e 's/\$$\$$/\$$/g' \
		| awk -F':.*## ' '{printf "  make %-14s %s\n", $$1, $$2}'

venvs: ## Create the tools, emulator, test, scan, deployctl and agent virtualenvs (Python 3.13, pinned)
	@scripts/bootstrap.sh tools emulator test scan deployctl agent

emulator: ## Start MiniStack on 127.0.0.1:$(EMULATOR_PORT), or reuse the one answering there
	@scripts/bootstrap.sh emulator
	@EMULATOR_PORT=$(EMULATOR_PORT) scripts/emulator.sh start

emulator-stop: ## Stop the MiniStack this project started
	@scripts/emulator.sh stop

build: ## sam build of the global stack (template.yaml) and the regional stack (regional.yaml)
	@scripts/bootstrap.sh tools
	PATH="$(SAM_PATH)" SAM_CLI_TELEMETRY=0 $(TOOLS)/sam build --template-file template.yaml --build-dir .aws-sam/global
	PATH="$(SAM_PATH)" SAM_CLI_TELEMETRY=0 $(TOOLS)/sam build --template-file regional.yaml --build-dir .aws-sam/regional

deploy: build emulator ## sam build + deploy the global stack and every regional stack to the emulator
	$(SAM_DEPLOY)

deploy-aws: build ## Deploy to real AWS with your credentials: the global stack in HOME_REGION, a stack per region
	PATH="$(SAM_PATH)" SAM_CLI_TELEMETRY=0 PYTHONPATH=$(CURDIR)/layers/code_deploy $(TOOLS)/python -m tools.deploy \
		--stack-name $(STACK_NAME) --home-region $(HOME_REGION) $(if $(REGIONS),Regions=$(REGIONS)) $(PARAMS)

# The benchmark deploys its own stacks (other STACK_NAME and PARAMS) of what `make deploy` built.
redeploy: ## sam deploy of the last build, no build: make redeploy STACK_NAME=x PARAMS='HostsPerRegion=10000'
	$(SAM_DEPLOY)

demo: venvs deploy ## Everything, then submit a build and follow it to every host of every region
	$(LOCAL_ENV) $(TEST)/python -m tools.demo

lint: ## sam validate --lint, cfn-lint with the serverless rules, checkov, the ASL check, ruff (both templates)
	@scripts/bootstrap.sh tools test scan asl
	PATH="$(SAM_PATH)" SAM_CLI_TELEMETRY=0 $(TOOLS)/sam validate --lint --template-file template.yaml
	PATH="$(SAM_PATH)" SAM_CLI_TELEMETRY=0 $(TOOLS)/sam validate --lint --template-file regional.yaml
	$(TOOLS)/cfn-lint --append-rules cfn_lint_serverless.rules -- template.yaml regional.yaml
	.venv/scan/bin/checkov --file template.yaml --file regional.yaml --framework cloudformation --compact --quiet --skip-download
	$(TEST)/python -m tools.check_asl
	$(TEST)/ruff check .
	$(TEST)/ruff format --check .

unit: ## Unit tests (moto; no emulator)
	@scripts/bootstrap.sh test asl
	$(TEST)/pytest tests/unit

integration: venvs deploy ## Integration tests against the stack deployed on the emulator
	$(LOCAL_ENV) $(TEST)/pytest tests/integration

e2e: venvs deploy ## End-to-end checks on the deployed stack: a small load run and a small benchmark
	$(LOCAL_ENV) $(TEST)/pytest tests/e2e

test: lint unit integration e2e ## Lint + unit + integration + e2e tests (what CI runs)

BUILDS ?= 100
load: venvs deploy ## Submit BUILDS (100) builds at once; every one must reach every host, none lost or duplicated
	$(LOCAL_ENV) $(TEST)/python -m tools.load --builds $(BUILDS)

# make bench BENCH_ARGS='--runs 5 --hosts 1000,10000,100000 --regions 2,5,10' (those are the defaults)
BENCH_ARGS ?=
bench: venvs deploy ## Benchmark on the emulator: latency by stage vs floor, throughput, scaling (bench/)
	$(LOCAL_ENV) $(TEST)/python -m bench $(BENCH_ARGS)

# make bench-p2p P2P_ARGS='--agents 100 --calibrate-agents 40 --artifact-mib 64 --rate 500000 --churn 0,10'
P2P_ARGS ?=
bench-p2p: venvs deploy ## Peer to peer for real: 100 agents fetch from each other, vs the model and the limit (bench/p2p.json)
	$(LOCAL_ENV) PYTHONPATH=$(CURDIR)/layers/code_deploy:$(CURDIR)/agent $(TEST)/python -m bench.p2p $(P2P_ARGS) \
		--out bench/p2p.json --plot docs/p2p-cdf.png

capacity: ## Capacity and cost model: work, limits, cost and time at the design scale and locally (docs/capacity.md)
	@scripts/bootstrap.sh test
	PYTHONPATH=$(CURDIR)/layers/code_deploy:$(CURDIR)/agent $(TEST)/python -m capacity $(foreach param,$(LOCAL_PARAMS),--param $(param))

# Real hosts: one code-deploy-agent process a region of the deployed stack, AGENTS agents each, group `fleet`,
# each agent in .fleet/<region>/<hostId>/ (tools/fleet.py). No redeploy; back once every agent has registered.
AGENTS ?= 5
fleet: ## Start AGENTS (5) real agents in every region of the deployed stack (group fleet, .fleet/); make fleet-stop
	$(LOCAL_ENV) $(TEST)/python -m tools.fleet start --agents $(AGENTS)

fleet-stop: ## Stop the agents make fleet started, and their apps
	$(LOCAL_ENV) $(TEST)/python -m tools.fleet stop

invoke: ## Send an event file to a deployed function: make invoke FN=replication-starter EVENT=events/s3_put.json
	$(LOCAL_ENV) $(TEST)/python -m tools.invoke $(FN) $(EVENT)

# sam local invoke / start-api in Docker, against the deployed stack's services (tools/local_invoke.py).
# Another template's functions: make local-invoke TEMPLATE=regional.yaml REGION=us-west-2 FN=... EVENT=...
TEMPLATE ?= template.yaml
REGION ?= us-east-1
API_PORT ?= 3000
LOCAL_INVOKE = $(LOCAL_ENV) AWS_REGION=$(REGION) AWS_DEFAULT_REGION=$(REGION) PATH="$(SAM_PATH)" \
	$(TOOLS)/python -m tools.local_invoke
local-build:
	@$(MAKE) -s build
	@scripts/docker.sh start

local-invoke: local-build ## sam local invoke in Docker vs the emulator: make local-invoke FN=ReplicationStarterFunction EVENT=events/s3_put.json
	$(LOCAL_INVOKE) invoke $(FN) $(EVENT) --template $(TEMPLATE) --region $(REGION)

local-api: local-build ## sam local start-api in Docker on 127.0.0.1:3000 (API_PORT=...), vs the emulator's services
	$(LOCAL_INVOKE) start-api --template $(TEMPLATE) --region $(REGION) --port $(API_PORT)

docker-stop: ## Stop the Docker daemon this project started (scripts/docker.sh)
	@scripts/docker.sh stop

docker-test: venvs deploy ## The sam local tests (tests/docker) where a Docker daemon runs or can start; skipped, saying why, elsewhere
	$(LOCAL_ENV) PATH="$(SAM_PATH)" scripts/docker-tests.sh

openapi: ## Write the API's OpenAPI document (generated from the code) to openapi.json
	@scripts/bootstrap.sh test
	$(TEST)/python -m tools.openapi > openapi.json

# The AWS CLI v1 ignores AWS_ENDPOINT_URL for SQS in us-east-1 (it forces queue.amazonaws.com), so in
# this shell `aws` is awslocal, which passes --endpoint-url on every call, SQS included.
local-env: ## Print exports that point deployctl/aws (= awslocal)/sam at the emulator: eval "$$(make -s local-env)"
	@echo 'export AWS_ENDPOINT_URL=http://127.0.0.1:$(EMULATOR_PORT) AWS_DEFAULT_REGION=us-east-1 AWS_REGION=us-east-1'
	@echo 'export AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test STACK_NAME=$(STACK_NAME) SAM_CLI_TELEMETRY=0'
	@echo 'export DISABLE_DEPRECATION_NOTICE=1 PATH="$(CURDIR)/.venv/deployctl/bin:$(CURDIR)/.venv/tools/bin:$$PATH"'
	@echo 'aws() { awslocal "$$@"; }'

clean: emulator-stop docker-stop ## Remove build output, the emulator's state and the virtualenvs
	rm -rf .aws-sam .emulator .venv .pytest_cache .ruff_cache

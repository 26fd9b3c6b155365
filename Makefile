# research-env. The two commands: `make lab` (the whole environment against a local AWS emulator)
# and `make test` (everything CI runs). `make help` lists the rest.
SHELL := /bin/bash
.DEFAULT_GOAL := help
.DELETE_ON_ERROR:

VENV ?= .venv
BIN := $(CURDIR)/$(VENV)/bin
export PATH := $(BIN):$(PATH)
export ANSIBLE_HOME ?= $(CURDIR)/.ansible
export ANSIBLE_NOCOLOR ?= $(if $(CI),1,)
PYTEST ?= $(BIN)/pytest
PYTEST_ARGS ?=
ARGS ?=
PLAYBOOKS := site.yml $(wildcard playbooks/*.yml)

.PHONY: help setup docker image lint syntax sanity unit integration image-test molecule e2e test lab lab-destroy clean

help: ## Show the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-13s %s\n", $$1, $$2}'

setup: ## Create/refresh .venv with the pinned requirements (idempotent)
	@scripts/setup.sh

docker: ## Make sure a Docker engine answers (installs Debian's docker.io as root if needed)
	@scripts/docker-engine.sh

image: docker ## Build the local images (once): the systemd host, FileGator's and AWS Lambda Python 3.13's stand-ins
	@scripts/test-image.sh
	@scripts/lambda-image.sh
	@scripts/filegator-image.sh --save >/dev/null

lint: setup syntax ## yamllint, ansible-lint (production profile), ruff, syntax checks
	yamllint --strict .
	ansible-lint
	ruff check .
	ruff format --check .

syntax: setup
	ansible-playbook --syntax-check $(PLAYBOOKS)

sanity: setup ## ansible-test sanity of the collection research_env.core (Python 3.11, no Docker)
	@scripts/sanity.sh $(SANITY_ARGS)

unit: setup ## Unit tests (pure functions, modules in-process)
	$(PYTEST) tests/unit -n 2 $(PYTEST_ARGS)

integration: setup ## Infra playbooks against the AWS emulator (moto server)
	$(PYTEST) -m integration tests/integration -n 2 --dist loadfile --durations=15 $(PYTEST_ARGS)

image-test: image ## The host image boots systemd, sshd and cron; Lambda functions run in the emulator
	$(PYTEST) -m docker tests/image $(PYTEST_ARGS)

molecule: setup image ## Role scenarios in containers (SCENARIOS="jupyter ..." for some)
	@scripts/molecule.sh $(SCENARIOS)

e2e: setup image ## End to end: make lab from nothing, what users see, make lab again, lab-destroy
	@scripts/browser.sh >/dev/null
	flock $${RESEARCH_ENV_DOCKER_LOCK:-/tmp/research-env-docker.lock} $(PYTEST) -m e2e tests/e2e $(PYTEST_ARGS)

test: ## Everything CI runs: two lanes at once (Docker, the rest), then where the time went
	@scripts/stages.sh setup image -- @no-docker lint sanity unit integration -- @docker image-test molecule e2e

lab: setup ## Run site.yml against the local AWS emulator (ARGS="--tags ..." for a slice)
	@scripts/lab.sh up $(ARGS)

lab-destroy: setup ## Tear the lab down (teardown.yml + destruction record), stop the emulator
	@scripts/lab.sh down $(ARGS)

clean: ## Remove local state (venv kept): emulator state, caches
	rm -rf .state .ansible .pytest_cache .ruff_cache

# Claude Task Server: make dev · make test · make lint · make build · make deploy · make bench
# Works on a fresh machine with python3 and make; everything else is installed here.

SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help
MAKEFLAGS += --no-builtin-rules

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
VENV_STAMP := $(VENV)/.stamp

# SAM CLI lives in its own venv: it pins an older boto3 than the project uses.
# Its Python must be 3.13, because `sam build` for the python3.13 runtime looks for
# `python3.13` on PATH, and the venv's own bin (first on PATH below) provides it.
# Any python3.13: pyenv's newest 3.13.x, else one on PATH; `make build` fails without one.
PY313 := $(or $(if $(shell pyenv prefix 3.13 2>/dev/null),$(shell pyenv prefix 3.13)/bin/python3.13),$(shell command -v python3.13 2>/dev/null),$(PYTHON))
SAM_VENV := .tools/sam
SAM_STAMP := $(SAM_VENV)/.stamp
SAM := PATH="$(CURDIR)/$(SAM_VENV)/bin:$$PATH" SAM_CLI_TELEMETRY=0 \
	AWS_DEFAULT_REGION="$${AWS_DEFAULT_REGION:-us-east-1}" $(SAM_VENV)/bin/sam

.PHONY: help venv tools dev test axe-core test-py313 lint lint-ruff lint-format lint-mypy lint-imports lint-template lint-checkov build deploy bench clean distclean

help:
	@echo "make dev      run the whole service locally (http://127.0.0.1:3000); flags: make dev DEV_ARGS=\"--api-port 3001\""
	@echo "make test     lint the template, then run unit, integration and e2e tests"
	@echo "make test-py313  the same tests on Python 3.13 (the Lambda runtime)"
	@echo "make lint     ruff, mypy, import contracts, cfn-lint, sam validate --lint and checkov"
	@echo "make build    sam build (no Docker) into .aws-sam/build"
	@echo "make deploy   make build, then sam deploy: --guided the first time (writes samconfig.toml), then with it; then uploads the console"
	@echo "make bench    cold-start and throughput benchmarks"
	@echo "make clean    remove build output and caches (distclean: also the venvs)"

$(VENV_STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $@

venv: $(VENV_STAMP)

$(SAM_STAMP):
	$(PY313) -m venv $(SAM_VENV)
	$(SAM_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(SAM_VENV)/bin/python -m pip install --quiet "aws-sam-cli>=1.140,<2"
	touch $@

tools: $(SAM_STAMP)

# Flags for the local stack, e.g. `make dev DEV_ARGS="--api-port 3001"` (see docs/local-stack.md).
DEV_ARGS ?=
dev: $(VENV_STAMP)
	$(BIN)/python -m claude_tasks_dev.local $(DEV_ARGS)

# axe-core for the browser tests' accessibility checks: a pinned npm release, fetched once (no Node.js needed)
# into the git-ignored .cache/ and checked against the registry's published sha512; the tests inject it.
AXE_VERSION := 4.14.1
AXE_SHA512 := FHfa+lmNjQZfJz1q8wKqIDwC6DExcHt/pkjNQb09a3NPjCKg2rhu5qb2S4r76ASyFNNtuFooJpZe37OgudVGtQ==
AXE_DIR := .cache/axe-core-$(AXE_VERSION)
$(AXE_DIR)/axe.min.js:
	mkdir -p $(AXE_DIR)
	curl -fsSL --retry 3 -o $(AXE_DIR)/package.tgz https://registry.npmjs.org/axe-core/-/axe-core-$(AXE_VERSION).tgz
	echo "$(AXE_SHA512)" | base64 -d | xxd -p -c 256 > $(AXE_DIR)/expected.sha512
	sha512sum $(AXE_DIR)/package.tgz | cut -d' ' -f1 | cmp -s - $(AXE_DIR)/expected.sha512 \
		|| { echo "axe-core $(AXE_VERSION): checksum mismatch" >&2; rm -f $(AXE_DIR)/package.tgz; exit 1; }
	tar -xzf $(AXE_DIR)/package.tgz -C $(AXE_DIR) --strip-components=1 package/axe.min.js package/LICENSE
	rm $(AXE_DIR)/package.tgz $(AXE_DIR)/expected.sha512
axe-core: $(AXE_DIR)/axe.min.js

# The SAM CLI too: a test builds the shared layer to check what Lambda gets.
# The browser tests (tests/browser) run when a Chromium is found, and say loudly when they skip.
test: $(VENV_STAMP) $(SAM_STAMP) $(AXE_DIR)/axe.min.js
	$(BIN)/cfn-lint template.yaml
	$(BIN)/pytest

# The Lambda runtime is python3.13 and the default interpreter here 3.11: CI runs the suite on both.
VENV313 := .venv313
$(VENV313)/.stamp: pyproject.toml
	$(PY313) -m venv $(VENV313)
	$(VENV313)/bin/python -m pip install --quiet --upgrade pip
	$(VENV313)/bin/python -m pip install --quiet -e ".[dev]"
	touch $@

test-py313: $(VENV313)/.stamp $(SAM_STAMP) $(AXE_DIR)/axe.min.js
	$(VENV313)/bin/python --version
	$(VENV313)/bin/pytest -q

# Independent checks: `make -k lint` runs every one of them and then fails if any did.
lint: lint-ruff lint-format lint-mypy lint-imports lint-template lint-checkov

lint-ruff: $(VENV_STAMP)
	$(BIN)/ruff check .

lint-format: $(VENV_STAMP)
	$(BIN)/ruff format --check .

# Each function directory is its own root in Lambda (/var/task), and each has an
# `app` module: check them one at a time so the three `app`s never clash.
lint-mypy: $(VENV_STAMP)
	$(BIN)/mypy shared/claude_tasks devtools/claude_tasks_dev
	rc=0; for fn in $(dir $(wildcard functions/*/app.py)); do MYPYPATH="$$fn" $(BIN)/mypy "$$fn" || rc=1; done; exit $$rc

# The layers of pyproject.toml's [tool.importlinter]: a store module importing the application fails here.
lint-imports: $(VENV_STAMP)
	$(BIN)/lint-imports

lint-template: $(VENV_STAMP) $(SAM_STAMP)
	$(BIN)/cfn-lint template.yaml
	$(SAM) validate --lint

# checkov in its own venv, like SAM: it pins boto3 1.35 and packaging 23, older than the project's.
# Each finding the template accepts is skipped on its resource, with the reason.
# --skip-download: no call to Prisma Cloud for guideline links (offline CI works the same).
CHECKOV_VENV := .tools/checkov
CHECKOV_STAMP := $(CHECKOV_VENV)/.stamp
$(CHECKOV_STAMP):
	$(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(CHECKOV_VENV)/bin/python -m pip install --quiet "checkov==3.3.30"
	touch $@

lint-checkov: $(CHECKOV_STAMP)
	$(CHECKOV_VENV)/bin/checkov -f template.yaml --framework cloudformation --quiet --compact --skip-download

# The zip functions and layers are then compiled for python3.13 (precompile.py says why: SAM ships no bytecode,
# and Lambda's read-only code folders would make every cold start compile it all again).
# ClaudeCodeWorkerFunction is a container image (functions/claude_code_worker/Dockerfile). Where a Docker
# engine answers, `sam build` builds it with Docker; elsewhere `sam build` leaves the image functions out,
# and the image's task root is assembled without Docker and checked (claude_tasks_dev.image, cached in .cache/).
build: $(SAM_STAMP) $(VENV_STAMP)
	@if docker info >/dev/null 2>&1; then \
		$(SAM) build; \
	else \
		images="$$($(BIN)/python -m claude_tasks_dev.image --image-functions | xargs)"; \
		echo "make build: SKIPPED the container image ($$images): no Docker engine answers 'docker info'."; \
		echo "make build: .aws-sam/build has no image: deploy it only with EnableClaudeCode=false (see docs/deploy.md); the image's files are assembled and checked instead."; \
		$(SAM) build $$(for id in $$images; do echo "--exclude $$id"; done); \
		$(BIN)/python -m claude_tasks_dev.image; \
	fi
	$(PY313) devtools/claude_tasks_dev/precompile.py .aws-sam/build

# Needs AWS credentials; neither `make test` nor CI runs it. The first deploy is guided: --resolve-s3 (SAM's
# artifact bucket) and --resolve-image-repos (an ECR repository for the Claude Code image) are its defaults, and
# --guided saves the answers, these included, to samconfig.toml (git-ignored), which every later `sam deploy` reads.
# EnableClaudeCode=true needs the image, which only a build with Docker makes: `make build` says when it skipped it.
# Extra flags: `make deploy DEPLOY_ARGS="--parameter-overrides AlarmEmail=ops@example.com"`.
# Then the console (EnableConsole, the default): console/ and a config.json made from the stack's outputs
# go to its bucket, and its CloudFront distribution is invalidated (boto3; no AWS CLI needed). An unchanged
# stack is no error (--no-fail-on-empty-changeset): a change to console/ alone still gets uploaded.
DEPLOY_ARGS ?=
deploy: build
	@if [ -f samconfig.toml ]; then \
		$(SAM) deploy --no-fail-on-empty-changeset $(DEPLOY_ARGS); \
	else \
		$(SAM) deploy --guided --resolve-s3 --resolve-image-repos --capabilities CAPABILITY_IAM $(DEPLOY_ARGS); \
	fi
	$(BIN)/python -m claude_tasks_dev.deploy_console

# Our sources compiled first, as `make build` compiles them for Lambda: otherwise (PYTHONDONTWRITEBYTECODE set,
# or a fresh clone) the cold-import figures would include compiling them, which no deployed function does.
bench: $(VENV_STAMP)
	$(BIN)/python -m compileall -q shared/claude_tasks functions devtools/claude_tasks_dev
	$(BIN)/python -m tests.bench

clean:
	rm -rf .aws-sam .pytest_cache .mypy_cache .ruff_cache .hypothesis build dist
	find . -path ./.venv -prune -o -path ./.tools -prune -o -name __pycache__ -type d -exec rm -rf {} +

distclean: clean
	rm -rf $(VENV) $(VENV313) .tools

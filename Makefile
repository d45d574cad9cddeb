# `make run` and `make test` do all the set-up on a fresh machine.
VENV    ?= .venv
PY      := $(VENV)/bin/python
PIP     := $(PY) -m pip
ROLLOUT := $(VENV)/bin/rollout
STAMP   := $(VENV)/.installed
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export ANONYMIZED_TELEMETRY := False

.PHONY: install run test chat demo bench eval clean

# One line per step. pip shows its own progress on a terminal and stays quiet (-q) in logs and CI.
$(STAMP): pyproject.toml constraints.txt
	@if test -x $(PY); then echo "==> [1/4] Using $(VENV)"; \
	else echo "==> [1/4] Creating $(VENV) (Python 3.11)" && python3 -m venv $(VENV); fi
	@echo "==> [2/4] Installing torch (CPU build, ~200 MB; a minute or two the first time)"
	@$(PIP) install $$(test -t 1 || echo -q) --disable-pip-version-check -c constraints.txt torch==2.13.0+cpu
	@echo "==> [3/4] Installing Rollout and its dependencies (the embedding model included)"
	@$(PIP) install $$(test -t 1 || echo -q) --disable-pip-version-check -c constraints.txt -e '.[dev]'
	@echo "==> [4/4] Checking that torch is the CPU build"
	@$(PY) -c "import torch, sys; sys.exit('a CUDA build of torch was installed' if torch.version.cuda else 0)"
	@touch $(STAMP)
	@echo "==> Installed: $(VENV) is ready"

install: $(STAMP)

run: install
	@echo "==> Indexing knowledge/policies (only changed files are read again)"
	@$(ROLLOUT) ingest knowledge/policies
	@echo "==> Starting Rollout"
	@$(ROLLOUT) start

chat: install
	$(ROLLOUT) chat

demo: install
	@echo "==> The Slack flows against a local fake Slack (no workspace needed)"
	@$(ROLLOUT) demo

test: install
	@echo "==> Running the tests (real Chroma, the real model, SQLite and PostgreSQL)"
	$(PY) -m pytest $(PYTEST_ARGS)

eval: install
	$(ROLLOUT) eval --dataset ../shared/eval/dev.jsonl --corpus ../shared/corpus

bench: install
	$(PY) -m bench

clean:
	rm -rf $(VENV) var

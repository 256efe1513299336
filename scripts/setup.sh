#!/usr/bin/env bash
# One-command, idempotent set-up: system packages, .venv, CMake build.
# Each step is skipped when already done; re-running after a change redoes
# only what changed (requirements hash, CMake's own incremental build).
set -euo pipefail
cd "$(dirname "$0")/.."
REPO="$(pwd)"

APT_PACKAGES=(cmake g++ make pkg-config libzmq3-dev cppzmq-dev nlohmann-json3-dev sqlite3 libtcmalloc-minimal4 chromium chromium-driver)

log() { printf '[setup] %s\n' "$*"; }

# ---- 1. system packages
missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  if [[ $(id -u) -ne 0 ]]; then
    echo "[setup] missing system packages; as root run: apt-get install -y ${missing[*]}" >&2
    exit 1
  fi
  log "apt-get install ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# ---- 2. Python venv with pinned dependencies
PYTHON="${PYTHON:-python3}"
if [[ ! -x .venv/bin/python ]]; then
  log "creating .venv with $($PYTHON --version)"
  "$PYTHON" -m venv .venv
fi
req_hash="$(cat requirements.txt pyproject.toml | sha256sum | cut -c1-16)"
if [[ "$(cat .venv/.gaidt-req 2>/dev/null || true)" != "$req_hash" ]]; then
  log "installing Python dependencies (requirements.txt)"
  .venv/bin/python -m pip install -q --disable-pip-version-check -r requirements.txt
  .venv/bin/python -m pip install -q --disable-pip-version-check --no-deps -e .
  echo "$req_hash" > .venv/.gaidt-req
fi

# ---- 3. optional: vLLM for the embedded open model (make llm-setup / GAIDT_WITH_LLM=1)
if [[ "${GAIDT_WITH_LLM:-0}" == "1" ]]; then
  bash scripts/setup-llm.sh
fi

# ---- 4. CMake build against the ns-3 wheel
if [[ ! -f build/CMakeCache.txt ]]; then
  log "configuring CMake build in build/"
  cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DGAIDT_PYTHON="$REPO/.venv/bin/python" >/dev/null
fi
log "building (cmake --build build)"
cmake --build build -j "$(nproc)" -- --no-print-directory | grep -vE '^\[|^Consolidate|^Scanning|^Built target' || true
test -x build/ns3-scenarios/gaidt-iot-city || { echo "[setup] build failed" >&2; exit 1; }
log "ready"

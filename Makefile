# GAIDT: two commands do everything on a fresh Debian/Ubuntu machine (as root).
#   make test   set up (apt, .venv, build) and run the test suite (every tier; CI's command)
#   make test-fast   the quick unit tests (no ns-3 binary, no model, none of the slow ones): an answer in a minute
#   make fig2   set up and reproduce Fig. 2 (default profile)
PY := .venv/bin/python
OUT ?= results

.PHONY: setup llm-setup test test-fast fig2 fig3 bench demo clean

setup:
	@bash scripts/setup.sh

# the embedded vLLM model (scripts/setup-llm.sh) too: CI runs the tests marked llm
llm-setup:
	@GAIDT_WITH_LLM=1 bash scripts/setup.sh

test: llm-setup
	$(PY) -m pytest -q -p no:cacheprovider tests

# Python only: needs the .venv (make setup once), not the build or the model
test-fast:
	$(PY) -m pytest -q -p no:cacheprovider -m "unit and not slow" tests

fig2: llm-setup
	$(PY) experiments/run.py fig2 --out $(OUT)/fig2

fig3: llm-setup
	$(PY) experiments/run.py fig3 --out $(OUT)/fig3

bench: setup
	$(PY) experiments/run.py bench --json

demo: setup
	$(PY) experiments/run.py scenario ns3-scenarios/examples/small.json --out $(OUT)/demo

clean:
	rm -rf build

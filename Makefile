# ForestGaps developer targets. `make demo` and `make test` bootstrap .venv by themselves.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
export QT_QPA_PLATFORM ?= offscreen

.DEFAULT_GOAL := help
.PHONY: help venv demo test test-fast lint format plugin i18n screenshots docs-check clean

help: ## list the targets
	@grep -E '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-14s %s\n", $$1, $$2}'

venv: ## create .venv once (QGIS-aware, torch 2.13.0 unless one is importable; FORESTGAPS_TORCH_INDEX picks the wheel index)
	@bash scripts/bootstrap_venv.sh

demo: venv ## run the main job on the embedded default and print where the outputs are
	@$(VENV)/bin/forestgaps demo --out out/demo

# One pytest process per test room. In a single process holding QGIS, torch (OpenMP),
# OpenVINO (TBB), ONNX Runtime and lazrs thread pools at once, the full run segfaulted at the
# same test every time while each room alone passes; rooms stay isolated until that is found.
TEST_SUITES ?= $(filter-out tests/data/ tests/__pycache__/,$(sort $(wildcard tests/*/))) $(wildcard tests/test_*.py)

test: venv ## run the whole test suite, one process per test room (TEST_SUITES=... to narrow)
	@status=0; for suite in $(TEST_SUITES); do \
	  echo "== $$suite"; $(PY) -m pytest -q $$suite $(PYTEST_ARGS) || status=1; \
	done; exit $$status

test-fast: venv ## the suite without slow tests, one process per test room
	@$(MAKE) --no-print-directory test PYTEST_ARGS='-m "not slow" $(PYTEST_ARGS)' 

lint: venv ## ruff checks
	$(VENV)/bin/ruff check forestgaps_engine plugin tests benchmarks scripts

format: venv ## ruff formatting and import sorting
	$(VENV)/bin/ruff check --fix forestgaps_engine plugin tests benchmarks scripts
	$(VENV)/bin/ruff format forestgaps_engine plugin tests benchmarks scripts

plugin: venv ## build dist/forestgaps.zip for QGIS
	@$(PY) scripts/build_plugin.py --out dist/forestgaps.zip

i18n: ## refresh plugin/i18n/*.ts from the plugin sources (pylupdate5) and compile the .qm (lrelease)
	@command -v pylupdate5 >/dev/null && command -v lrelease >/dev/null || \
		{ echo "i18n needs pylupdate5 and lrelease (Debian: apt-get install pyqt5-dev-tools qttools5-dev-tools)"; exit 1; }
	cd plugin && for ts in i18n/forestgaps_*.ts; do \
		pylupdate5 -noobsolete $$(find . -name '*.py' -not -path '*/__pycache__/*' | sort) -ts $$ts && \
		lrelease $$ts -qm $${ts%.ts}.qm || exit 1; done

screenshots: venv ## render docs/images/dock.png and map_results.png with QGIS offscreen (a run of the bundled model)
	$(PY) scripts/screenshots.py --out docs/images --work out/screenshots

pretrained: venv ## prepare, train, install and evaluate the bundled models from real and synthetic sites (resources/models/default/ and terrain/; needs ../shared/data)
	@set -euo pipefail; started=$$SECONDS; mkdir -p out/pretrained; \
	$(VENV)/bin/forestgaps prepare --config configs/pretrained.yaml; \
	$(VENV)/bin/forestgaps train --config configs/pretrained.yaml | tee out/pretrained/train.json; \
	staged=resources/models/default.new; rm -rf $$staged; mkdir -p $$staged; \
	cp out/pretrained/training/model/model.safetensors out/pretrained/training/model/model_card.json $$staged/; \
	$(VENV)/bin/forestgaps export $$staged --format onnx --out $$staged/model.onnx; \
	rm -rf resources/models/default; mv $$staged resources/models/default; \
	$(VENV)/bin/forestgaps prepare --config configs/pretrained_terrain.yaml; \
	$(VENV)/bin/forestgaps train --config configs/pretrained_terrain.yaml > out/pretrained/train_terrain.json; \
	staged=resources/models/terrain.new; rm -rf $$staged; mkdir -p $$staged; \
	cp out/pretrained_terrain/training/model/model.safetensors \
	  out/pretrained_terrain/training/model/model_card.json $$staged/; \
	rm -rf resources/models/terrain; mv $$staged resources/models/terrain; \
	installed_s=$$((SECONDS - started)); \
	$(VENV)/bin/forestgaps evaluate-heldout --config configs/pretrained.yaml --model default \
	  --set gaps.max_area_m2=10000 --out out/pretrained/evaluation --doc docs/benchmark.md; \
	if [ -d ../shared/data ]; then \
	  $(VENV)/bin/forestgaps evaluate-real --folds 3 --train-config configs/pretrained.yaml \
	    --out out/pretrained/real_folds --doc docs/benchmark.md; \
	else echo "../shared/data absent: real-site evaluation skipped"; fi; \
	echo "{\"prepare_train_install_s\": $$installed_s, \"total_s\": $$((SECONDS - started))}" \
	  > out/pretrained/duration.json; \
	du -sh resources/models/default; cat out/pretrained/duration.json

benchmark: venv ## train and score every architecture of configs/benchmark.yaml in 3 site folds (74 min on 2 cores; resumable: finished runs are kept)
	$(VENV)/bin/forestgaps benchmark --config configs/benchmark.yaml

docs-check: venv screenshots ## re-render the screenshots, check every command in README.md and docs/*.md against the CLI and Makefile; run the marked ones (~4 min on 2 cores)
	$(PY) scripts/docs_check.py

clean: ## remove build outputs (keeps .venv)
	rm -rf out dist build .pytest_cache .ruff_cache

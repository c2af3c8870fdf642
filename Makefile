# Every target sets up .venv on its own: on a fresh machine `make test` is the whole set-up.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run demo test bench lint clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/newsbot run

demo: $(STAMP)
	$(BIN)/newsbot demo

test: $(STAMP)
	$(BIN)/ruff check .
	OMP_NUM_THREADS=1 $(BIN)/pytest -q

bench: $(STAMP)
	OMP_NUM_THREADS=1 $(BIN)/python bench/ingest.py
	OMP_NUM_THREADS=1 $(BIN)/python bench/classify.py
	OMP_NUM_THREADS=1 $(BIN)/python bench/fanout.py
	OMP_NUM_THREADS=1 $(BIN)/python bench/search.py

lint: $(STAMP)
	$(BIN)/ruff check .

clean:
	rm -rf $(VENV) data/*.db data/*.db-*

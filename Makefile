# The course's commands. Every target sets up the virtual environment first
# (only when pyproject.toml or constraints.txt changed since the last install).
#
#   make lab        set up, then open the course in JupyterLab
#   make test       set up, then run every test (what CI runs)
#   make test-unit  the unit tests only (no notebook, book or browser): about 4 min on 2 cores
#   make lint       ruff, the layering rules (import-linter) and stripped notebooks
#   make dev        authoring tools and git hooks (ruff, nbstripout, pre-commit)
#   make strip      strip outputs from the notebooks (what the git hook does)
#   make bench      time chapters, widget frames, book pages and the from-scratch code (_build/bench)
#   make book       the HTML book in _build/html (executes every notebook)
#   make student    student copies without solutions in student/ (never overwrites a copy you edited)
#   make trunk      retrain chapter 11's pretrained trunk, data/ch11_trunk.pt (authors only; ~15 s)
#   make digit-models  retrain the shipped digit yardstick, VAE and GAN, data/digit_models.npz (authors only; ~13 s)
#   make widget-runs   retrain the runs chapters 9, 13 and 18's widgets show, data/ch09_…, ch13_…, ch18_….npz (authors only; ~1 min)
#   make book CHAPTERS="01-07 10"   (and make student CHAPTERS=…): a course with only those chapters
#
# Variables: PYTHON (interpreter for the venv), VENV (its folder),
# CONSTRAINTS (pins; empty to keep a torch build you installed yourself),
# JOBS (parallel test workers), PYTEST_ARGS (extra pytest arguments),
# CHAPTERS (a course profile for book/student, e.g. "01-07 10 14-15"; default: all).

PYTHON      ?= python3
VENV        ?= .venv
CONSTRAINTS ?= constraints.txt
JOBS        ?= 2
PYTEST_ARGS ?=
CHAPTERS    ?=
# JupyterLab refuses to run as root unless told to (containers, CI machines).
LAB_ARGS    ?= $(if $(filter 0,$(shell id -u)),--allow-root,)

BIN   := $(VENV)/bin
PIP   := $(BIN)/python -m pip
PIN   := $(if $(CONSTRAINTS),-c $(CONSTRAINTS),)

.PHONY: lab test test-unit lint dev strip bench book student trunk digit-models widget-runs doctor clean setup setup-test setup-dev
.DEFAULT_GOAL := lab

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.lab-installed: pyproject.toml $(CONSTRAINTS) | $(BIN)/python
	$(PIP) install $(PIN) -e .
	@touch $@

$(VENV)/.test-installed: pyproject.toml $(CONSTRAINTS) | $(BIN)/python
	$(PIP) install $(PIN) -e ".[test]"
	@touch $(VENV)/.lab-installed $@

$(VENV)/.dev-installed: pyproject.toml $(CONSTRAINTS) | $(BIN)/python
	$(PIP) install $(PIN) -e ".[dev]"
	@touch $(VENV)/.lab-installed $(VENV)/.test-installed $@

setup: $(VENV)/.lab-installed
setup-test: $(VENV)/.test-installed
setup-dev: $(VENV)/.dev-installed

# jupyter_config/ (labconfig/page_config.json) switches JupyterLab's news announcements
# off for the course's own server only (no pop-up on first start), and the update check
# is off too: neither asks the web anything.
LAB_ENV := JUPYTER_CONFIG_PATH="$(CURDIR)/jupyter_config$${JUPYTER_CONFIG_PATH:+:$$JUPYTER_CONFIG_PATH}"

lab: setup
	$(BIN)/python -m course_utils doctor || true
	$(LAB_ENV) $(BIN)/jupyter lab $(LAB_ARGS) --LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate \
		--KernelManager.transport=ipc \
		notebooks/00_start_here.ipynb

doctor: setup
	$(BIN)/python -m course_utils doctor

# The whole suite runs with the network blocked for Python (tests/offline),
# the instructor notebooks in strict mode (a wrong solution cell fails), without
# recording exercise progress (that file belongs to a student), and one
# compute thread per process: JOBS workers share the cores, and oversubscribed
# BLAS/torch threads make small models many times slower.
# Two phases: (1) unit tests, the start page under nbval, and every chapter's default run
# twice in one kernel, instructor then student copy (tests/notebooks), which also saves
# the executed chapters to _build/executed;
# (2) the book, built from those executed chapters, and the browser tests (tests/e2e).
TEST_ENV := PYTHONPATH="$(CURDIR)/tests/offline$${PYTHONPATH:+:$$PYTHONPATH}" COURSE_OFFLINE_GUARD=1 \
	COURSE_STRICT_CHECKS=1 COURSE_TRACK_PROGRESS=0 COURSE_THREADS=1 OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1

test: setup-test
	rm -rf _build/executed
	$(TEST_ENV) $(BIN)/python -m pytest -n $(JOBS) --dist loadfile --durations=15 --nbval-lax --nbval-current-env \
		tests/notebooks notebooks/00_start_here.ipynb tests/unit $(PYTEST_ARGS)
	$(TEST_ENV) $(BIN)/python -m pytest -n $(JOBS) --dist loadfile --durations=5 tests/e2e $(PYTEST_ARGS)

# Unit tests only: the from-scratch code against torch, the platform, the chapters'
# figures and checks. No notebook is executed.
test-unit: setup-test
	COURSE_THREADS=1 OMP_NUM_THREADS=1 $(BIN)/python -m pytest -n $(JOBS) --durations=5 tests/unit $(PYTEST_ARGS)

NBSTRIPOUT_KEYS := metadata.papermill cell.metadata.papermill cell.metadata.execution metadata.widgets

lint: setup-dev
	$(BIN)/ruff check .
	$(BIN)/lint-imports
	$(BIN)/nbstripout --keep-id --verify --extra-keys "$(NBSTRIPOUT_KEYS)" notebooks/*.ipynb

dev: setup-dev
	$(BIN)/pre-commit install

strip: setup-dev
	$(BIN)/nbstripout --keep-id --extra-keys "$(NBSTRIPOUT_KEYS)" notebooks/*.ipynb

book: setup-test
ifeq ($(strip $(CHAPTERS)),)
	COURSE_STATIC_WIDGETS=1 $(BIN)/jupyter-book build . --builder html
else
	$(BIN)/python -m course_utils profile --chapters "$(CHAPTERS)" --out _build/profile
	COURSE_STATIC_WIDGETS=1 $(BIN)/jupyter-book build _build/profile --path-output . --builder html
endif
	@echo "Open _build/html/index.html in a browser (no server needed)."

# The benchmark: every chapter 3 times one at a time, its widgets' book frames, the pages of
# _build/html if built, and the from-scratch code against torch. BENCH_ARGS, e.g.
# BENCH_ARGS='--chapters "01-03" --repeat 1'.
BENCH_ARGS ?=
bench: setup-test
	COURSE_TRACK_PROGRESS=0 $(BIN)/python -m course_utils bench $(BENCH_ARGS)

student: setup
	$(BIN)/python -m course_utils student --out student --chapters "$(CHAPTERS)"

# Chapter 11 ships a small trunk trained on digits; this rebuilds it (and prints its checksum,
# which must then be copied into TRUNK_SHA256 in course_utils/chapters/ch11_modern_cnns; the
# weights depend on the number of CPU threads, so a rebuild on another machine gets a new checksum).
trunk: setup
	$(BIN)/python -m course_utils.chapters.ch11_modern_cnns

# The digit yardstick's classifier and chapter 17's and 18's VAE and GAN, which chapter 19 reads
# (data/digit_models.npz; prints its checksum, for digit_models.SHIPPED_SHA256 and data/README.md).
digit-models: setup
	$(BIN)/python -m course_utils.digit_models

# The runs that chapters 9, 13 and 18's widgets show instead of training at each new setting; each
# prints its checksum, to copy into that chapter's WIDGET_RUNS_SHA256 (and data/README.md).
widget-runs: setup
	$(BIN)/python -m course_utils.chapters.ch09_regularization
	$(BIN)/python -m course_utils.chapters.ch13_similarity_style
	$(BIN)/python -m course_utils.chapters.ch18_gans

clean:
	rm -rf _build student .pytest_cache

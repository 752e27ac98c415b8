# Two commands on a fresh machine: `make run` (set up + main job) and `make test` (set up + tests).
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.setup-done
BYTECODE := $(VENV)/.bytecode-done
export KEDRO_DISABLE_TELEMETRY := 1
export DO_NOT_TRACK := 1
export KEDRO_LOGGING_CONFIG := $(CURDIR)/conf/logging.yml
export PYSPARK_PYTHON := $(CURDIR)/$(BIN)/python
export PYSPARK_DRIVER_PYTHON := $(CURDIR)/$(BIN)/python
export SPARK_LOCAL_IP := 127.0.0.1
# The use case (a folder of conf/base/usecases/): `make run USECASE=car_loans`. Every use case but the
# default one (flights, in data/) keeps its lakehouse in data/<name>/ unless LAKEHOUSE_ROOT says.
USECASE ?= flights
export LAKEHOUSE_USECASE := $(USECASE)
ifneq ($(USECASE),flights)
export LAKEHOUSE_ROOT ?= data/$(USECASE)
endif
# Batches: empty means the use case's usecase.demo (history, first_cycle, replay) in its conf.
HISTORY_FROM ?=
HISTORY_TO ?=
FIRST_CYCLE ?=
REPLAY_FROM ?=
REPLAY_TO ?=
REPORTS := $(or $(LAKEHOUSE_ROOT),data)/08_reporting

.PHONY: setup usecase-data java jars browser viz viz-build run history replay ingest tables test lint unit integration bench clean-data help mlflow-ui \
	package cluster-up cluster-run cluster-down cluster-status deploy mlflow-server postgres

help:
	@echo "make run    - set up everything and run the main job (history, first champion, one cycle of the loop)"
	@echo "make replay - the policy backtest: the use case's replay batches (usecase.demo.replay) and the timeline"
	@echo "              (any target: USECASE=car_loans for the second shipped use case)"
	@echo "make test   - set up everything and run lint + the test suite"
	@echo "make bench  - benchmarks (printed tables)"
	@echo "make package - wheel + conf tarball + spark-submit entry point in dist/"
	@echo "make cluster-up / cluster-run / cluster-down - the loop on a local Spark standalone cluster"
	@echo "make mlflow-server - the team MLflow server with logins and permissions (docs/team_server.md)"
	@echo "make deploy ENV=staging|prod - ship dist/ (make package or a release's assets) to that environment"

# Idempotent: a stamp records the lock file it installed; re-running is a no-op until it changes.
setup: $(STAMP) $(BYTECODE) jars usecase-data
	@$(BIN)/python -m compileall -q src > /dev/null

# Use-case data sets fetched at set-up (cached, SHA-256 checked): car_loans' from the nannyml wheel.
usecase-data: $(STAMP)
	@$(BIN)/python -m lakehouse_mlops.usecases.car_loans

$(STAMP): requirements.lock pyproject.toml | java
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/python -m pip install --quiet uv==0.13.8
	$(BIN)/uv pip sync --quiet --python $(BIN)/python requirements.lock
	$(BIN)/uv pip install --quiet --python $(BIN)/python --no-deps -e .
	@cp requirements.lock $(STAMP)

# Compiled once: with PYTHONDONTWRITEBYTECODE=1 (set on this project's machines) every process,
# Spark's Python workers included, would otherwise compile mlflow, pandas and scikit-learn from source
# at each start (`kedro status` 18 s -> 5 s; benchmarks/README.md). Cookiecutter templates ({{ }}) are
# not Python.
$(BYTECODE): $(STAMP)
	@$(BIN)/python -m compileall -q -j 0 -x "[{][{]" $(VENV)/lib > /dev/null
	@touch $(BYTECODE)

java:
	@bash .ci/check_java.sh

# Delta's JARs: Spark's package resolver fetches and caches them (~/.ivy2.5.2) on first start.
jars: $(STAMP)
	@$(BIN)/python -m lakehouse_mlops.platform.jars

run: history
	$(BIN)/kedro cycle $(FIRST_CYCLE)
	$(BIN)/kedro tables
	$(BIN)/kedro status
	@echo "Monitoring report: $(REPORTS)/monitoring/latest_report.html (per batch: .../batches/)"
	@echo "Training plots: $(REPORTS)/training/; MLflow UI: make mlflow-ui (http://127.0.0.1:5000)"
	@echo "Replay timeline: make replay, then $(REPORTS)/replay/timeline.html"

# The initial history and the first champion: land, ingestion, features, training, gate (one Spark app).
history: setup
	$(BIN)/kedro history $(HISTORY_FROM) $(HISTORY_TO)

# Needs a champion: builds the history first when there is none.
replay: setup
	@$(BIN)/kedro status 2>/dev/null | grep -q '^champion .* version [0-9]' || $(BIN)/kedro history $(HISTORY_FROM) $(HISTORY_TO)
	$(BIN)/kedro replay $(REPLAY_FROM) $(REPLAY_TO)

# kedro-viz without the project hooks (no Spark needed to draw the graph).
viz: setup
	$(BIN)/kedro viz run --host 127.0.0.1 --port 4141 --no-browser

viz-build: setup
	$(BIN)/kedro viz build

mlflow-ui: setup
	$(BIN)/mlflow ui --backend-store-uri sqlite:///mlflow.db --host 127.0.0.1 --port 5000

ingest: setup
	$(BIN)/kedro run --pipelines ingestion --runner ThreadRunner

tables: setup
	$(BIN)/kedro tables

lint: setup
	$(BIN)/ruff check src tests benchmarks

test: setup lint browser postgres
	$(BIN)/pytest -q

browser:
	@bash .ci/ensure_chromium.sh

# PostgreSQL server binaries for the team server's PostgreSQL test (skipped without them)
postgres:
	@bash .ci/ensure_postgres.sh

# The team MLflow server (docs/team_server.md): 127.0.0.1, port from conf/team/mlflow.yml (5040),
# secrets from conf/local/credentials.yml. More: make mlflow-server TEAM_SERVER_ARGS="--workers 4"
mlflow-server: setup
	$(BIN)/python -m lakehouse_mlops.platform.team_server serve $(TEAM_SERVER_ARGS)

unit: setup
	$(BIN)/pytest -q -m "not integration"

bench: setup
	$(BIN)/python benchmarks/bench_ingestion.py
	$(BIN)/python benchmarks/bench_training.py
	$(BIN)/python benchmarks/bench_scoring.py
	$(BIN)/python benchmarks/bench_stages.py    # 100k,1M; BENCH_SIZES=100000,1000000,10000000 opt-in
	$(BIN)/python benchmarks/bench_drift.py     # builds 100k, repeats to 1M; Evidently part if importable
	$(BIN)/python benchmarks/bench_growth.py
	$(BIN)/python benchmarks/bench_maintenance.py   # kedro maintain: files/bytes, cycle time, the guard's cost
	$(BIN)/python benchmarks/bench_cycle.py         # where a cycle's time goes: per stage JVM, jobs, commits, MLflow
	$(BIN)/python benchmarks/bench_validation.py    # the driver cost of ingestion's validation plans
	$(BIN)/python benchmarks/bench_ingestion_jobs.py  # Spark jobs of an ingestion run: all new, 3 feeds, nothing new

# The deployable bundle in dist/ (wheel, .zip of it, conf tarball, spark-submit entry point).
package: setup
	BIN=$(CURDIR)/$(BIN) bash deploy/package.sh

# A Spark standalone master and two workers on 127.0.0.1 (ports: CLUSTER_MASTER_PORT, CLUSTER_UI_PORT).
CLUSTER := $(BIN)/python -m lakehouse_mlops.platform.standalone_cluster
CLUSTER_WORKDIR ?= data/cluster
cluster-up: setup
	$(CLUSTER) up

cluster-down:
	$(CLUSTER) down

cluster-status: setup
	$(CLUSTER) status

# The main job on the cluster: the packaged project, --env cluster, tables and MLflow store in
# CLUSTER_WORKDIR (the shared path). Same steps as `make run`: history, first champion, one cycle.
cluster-run: package
	$(CLUSTER) submit --workdir $(CLUSTER_WORKDIR) -- history $(HISTORY_FROM) $(HISTORY_TO) --env cluster
	$(CLUSTER) submit --workdir $(CLUSTER_WORKDIR) -- cycle $(FIRST_CYCLE) --env cluster
	$(CLUSTER) submit --workdir $(CLUSTER_WORKDIR) -- tables --env cluster
	$(CLUSTER) submit --workdir $(CLUSTER_WORKDIR) -- status --env cluster

# Ship an already-built bundle to ENV (DEPLOY_PLATFORM: databricks | spark-submit); docs/deployment.md.
deploy:
	ENV=$(ENV) DIST=$(or $(DIST),dist) bash deploy/deploy.sh

clean-data:
	find data -type f ! -name .gitkeep -delete
	find data -mindepth 2 -type d -empty -delete
	rm -f mlflow.db

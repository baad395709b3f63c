# bSocial — the two commands that matter:
#   make run    install what is missing, build (release), start the stack and bSocial on :8080
#   make test   install what is missing, build, run every test suite (what CI runs)
SHELL := /bin/bash
.DEFAULT_GOAL := help

SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
JOBS ?= $(shell nproc)
PYTHON ?= python3

# Debian bookworm packages the build, the tests and `make run` need.
DEB_PACKAGES := build-essential cmake ninja-build pkg-config git curl ca-certificates \
  libboost1.81-dev libboost-json1.81-dev libboost-url1.81-dev libboost-system1.81-dev \
  libsoci-dev libpq-dev libsqlite3-dev librdkafka-dev libsodium-dev libspdlog-dev libcli11-dev \
  libcurl4-openssl-dev libssl-dev libgtest-dev libbenchmark-dev libgoogle-perftools-dev clang-format \
  john-data kcat wrk postgresql sqlite3 maven openjdk-17-jdk-headless nodejs npm chromium \
  nginx-light openssl valgrind

.PHONY: help deps build build-app build-debug build-asan run test test-unit test-asan lint-openapi \
        bench bench-scale bench-visibility bench-feed bench-hardening bench-notify bench-live bench-telemetry bench-analytics bench-connections bench-flood bench-search bench-people bench-instructions clean stack-fetch format web test-reliability \
        test-faults test-opensearch test-compose

help:
	@echo "make run        build (release) and start bSocial on http://127.0.0.1:8080"
	@echo "make test       build and run every test suite (unit, integration on SQLite and PostgreSQL, stack)"
	@echo "make test-asan  the unit, SQLite, Kafka and notifier suites under ASan/UBSan"
	@echo "make test-reliability  the fault runs F1-F7 (Kafka down, kill -9, leader kills...)"
	@echo "make test-faults  PostgreSQL, Kafka, Elasticsearch, serve, notifier faults under 120 writes/s (2 APIs on PostgreSQL)"
	@echo "make test-opensearch   the telemetry suite (queries, faults) against OpenSearch 2.19 instead of Elasticsearch 8"
	@echo "make test-compose  build the images with podman, run compose.yaml (2 APIs behind nginx), check it, tear down"
	@echo "make bench      seed 1M posts (cached), wrk scenarios on the release server, write docs/benchmarks.md"
	@echo "make bench-scale  feed latency against dataset size (100k, 1M, 10M posts SQLite; 1M PostgreSQL)"
	@echo "make bench-visibility  post -> visible in a follower's feed, fan-out lag, steady and in a burst"
	@echo "make bench-feed wrk on GET /api/v1/feed (prints requests/s and latency percentiles)"
	@echo "make bench-notify   push at 200 comments/s (SQLite; PG 2 APIs + 2 notifiers), 10,000 idle sockets, claims"
	@echo "make bench-live     a post pushed live to 10,000 online followers: SQL statements, time to the last socket"
	@echo "make bench-telemetry  indexing throughput and event -> searchable lag"
	@echo "make bench-analytics  indexer events/s, analytics API p50/p95 at 1M events, cold-start lag"
	@echo "make bench-connections  5,000 idle connections: a normal request's time, server fds vs cap"
	@echo "make bench-flood  a reader's feed p99 while acks flood 16 sockets and searches flood"
	@echo "make bench-search  people search at 1M users, SQLite and PostgreSQL (range vs substr)"
	@echo "make bench-people  who to follow at 10k users / 1M follows / 1M posts, both databases"
	@echo "make bench-instructions OLD=path/bsocial  serve's instructions per request (callgrind), OLD vs this build"

# Installs only what is missing, so a second run is instant.
deps:
	@missing=$$(for p in $(DEB_PACKAGES); do \
	    case "$$p" in \
	      maven) command -v mvn >/dev/null || echo $$p ;; \
	      openjdk-17-jdk-headless) command -v javac >/dev/null || echo $$p ;; \
	      nodejs|npm) command -v $${p/nodejs/node} >/dev/null || echo $$p ;; \
	      *) dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'install ok installed' || echo $$p ;; \
	    esac; done); \
	if [ -n "$$missing" ]; then \
	  echo "installing: $$missing"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing; \
	fi
	@$(PYTHON) -m pytest --version >/dev/null 2>&1 || $(PYTHON) -m pip install -q pytest
	@$(PYTHON) -c 'import websockets' 2>/dev/null || $(PYTHON) -m pip install -q websockets==13.1
	@$(PYTHON) -c 'import yaml' 2>/dev/null || $(PYTHON) -m pip install -q pyyaml
	@$(PYTHON) -c 'import schemathesis' 2>/dev/null || $(PYTHON) -m pip install -q schemathesis==4.32.5

build: deps
	cmake --preset release >/dev/null
	cmake --build --preset release -j$(JOBS)

# Only what `make run` runs: the bsocial binary (release), not the test binaries.
build-app: deps
	cmake --preset release >/dev/null
	cmake --build --preset release -j$(JOBS) --target bsocial

build-debug: deps
	cmake --preset debug >/dev/null
	cmake --build --preset debug -j$(JOBS)

build-asan: deps
	cmake --preset asan >/dev/null
	cmake --build --preset asan -j$(JOBS)

run: build-app web
	bash tools/run.sh

# Kafka, OpenSearch and Elasticsearch jars from Maven Central (cached in ~/.cache/bsocial-stack and ~/.m2).
stack-fetch: deps
	$(PYTHON) stack/bstack.py fetch

# The web app (TypeScript, Vite) into web/dist, served by `bsocial serve --static-dir`.
# `check` first: no import cycle in web/src, and web/generated/api-types.ts is what
# openapi-typescript makes of docs/openapi.yaml (else: npm --prefix web run gen-api-types).
web: deps
	@[ web/node_modules/.package-lock.json -nt web/package-lock.json ] || npm ci --prefix web --no-audit --no-fund
	npm --prefix web run check
	npm --prefix web run build

test: build-debug lint-openapi stack-fetch web
	ctest --preset debug --output-on-failure -j1

test-unit: build-debug
	ctest --preset debug --output-on-failure -L unit

test-asan: build-asan
	ASAN_OPTIONS=detect_leaks=1 ctest --preset asan --output-on-failure -E 'postgresql|stack|telemetry|web'

lint-openapi: deps
	bash tools/openapi/lint.sh

# Seeded network (cached in .bench-cache/), wrk scenarios, docs/benchmarks.{md,json,png}.
# Extra flags: make bench BENCH_ARGS="--duration 5"; sizes: make bench-scale BENCH_SIZES=100000,1000000
BENCH_ARGS ?=
bench: build
	$(PYTHON) bench/bench.py --bin build/release/bsocial $(BENCH_ARGS)
	$(PYTHON) bench/live_bench.py --bin build/release/bsocial

# Issue 27: a new post's live push to 10,000 online followers (SQL statements, last socket).
bench-live: build
	$(PYTHON) bench/live_bench.py --bin build/release/bsocial

bench-scale: build
	$(PYTHON) bench/bench.py --bin build/release/bsocial --scale $(BENCH_ARGS)

# How soon followers see a post; the fan-out worker's lag (same seeded network as bench).
bench-visibility: build
	$(PYTHON) bench/feed_visibility.py --bin build/release/bsocial

bench-feed: build
	$(PYTHON) bench/feed_bench.py --bin build/release/bsocial

# Issue 9 (accounts): a reader's feed p50/p99 during a 32-client registration storm, and the
# server's RSS growth over 5,000 failed logins from 5,000 loopback addresses.
bench-hardening: build
	$(PYTHON) bench/hardening_bench.py --bin build/release/bsocial

bench-notify: build stack-fetch
	$(PYTHON) bench/notify_bench.py --bin build/release/bsocial

bench-connections: build
	$(PYTHON) bench/connections_bench.py --bin build/release/bsocial

# Issue 24: a reader's feed p99 while one client floods acks on 16 sockets and another
# floods searches (printed, not asserted); people search at 1M users on both databases.
bench-flood: build
	$(PYTHON) bench/flood.py --bin build/release/bsocial

bench-search: build
	$(PYTHON) bench/search_bench.py --bin build/release/bsocial

# Issue 28: who to follow (suggestions) at 10k users / 1M follows / 1M posts, both databases.
bench-people: build
	$(PYTHON) bench/people_bench.py --bin build/release/bsocial

# A/B of two builds that load does not move: serve's instructions per request (valgrind's
# callgrind) for the mixed workload's feed pages, comment lists and posts. OLD: the other
# build's binary (e.g. a worktree of an older commit: cmake --preset release there).
# Extra flags: INSTRUCTIONS_ARGS="--db postgresql --simulate --rounds 3".
bench-instructions: build
	@test -n "$(OLD)" || { echo "usage: make bench-instructions OLD=path/to/other/bsocial"; exit 2; }
	$(PYTHON) bench/instructions_ab.py --bins $(OLD) build/release/bsocial $(INSTRUCTIONS_ARGS)

# Throughput: TELEMETRY_EVENTS preloaded into Kafka, drained into the engine (events/s, CPU
# and the engine's bulk/refresh/merge times); then the event -> searchable lag at 200/s.
TELEMETRY_EVENTS ?= 1000000
bench-telemetry: build stack-fetch
	BSOCIAL_BIN=build/release/bsocial $(PYTHON) bench/telemetry_bench.py --events $(TELEMETRY_EVENTS) --seconds 0
	BSOCIAL_BIN=build/release/bsocial $(PYTHON) bench/telemetry_bench.py

# Issue 29: indexer events/s into Elasticsearch, the analytics API calls at 1M events
# (ANALYTICS_SIZES=1000000,10000000 adds 10M), then the cold-start event -> searchable lag.
ANALYTICS_SIZES ?= 1000000
bench-analytics: build stack-fetch
	BSOCIAL_BIN=build/release/bsocial $(PYTHON) bench/analytics_bench.py --sizes $(ANALYTICS_SIZES)
	BSOCIAL_BIN=build/release/bsocial $(PYTHON) bench/telemetry_bench.py --events 200 --warmup 0 --seconds 30

# `make test` runs the telemetry suite against Elasticsearch 8 (BSOCIAL_TEST_ENGINE's default);
# this runs it against OpenSearch 2.19 (the other supported engine). ~3 min. `web`: the
# suite ends with the Analytics page in Chromium (tests/web/analytics.mjs).
test-opensearch: build-debug stack-fetch web
	cd tests/telemetry && BSOCIAL_TEST_ENGINE=opensearch BSOCIAL_BIN=$(CURDIR)/build/debug/bsocial \
	  $(PYTHON) -m pytest -q -p no:cacheprovider

# The fault runs of shared/design/reliability-figures.md (F1-F7): long, so not in `make test`.
# BSOCIAL_TEST_ENGINE=opensearch runs F5/F7 against OpenSearch instead of Elasticsearch.
test-reliability: build-debug stack-fetch
	BSOCIAL_BIN=$(CURDIR)/build/debug/bsocial $(PYTHON) -m pytest tests/reliability -q -s -p no:cacheprovider

# Issue 22: the deployment a team runs (PostgreSQL, two `serve` with relays, notifier,
# telemetry, Kafka, Elasticsearch) under >= 100 writes/s plus feed reads; one fault per
# test, each prints `fault=... lost=0 duplicated=0 unavailable_s=X`. See tests/faults/README.md.
test-faults: build-debug stack-fetch
	BSOCIAL_BIN=$(CURDIR)/build/debug/bsocial $(PYTHON) -m pytest tests/faults -q -s -p no:cacheprovider

# Issue 12: the Dockerfile and compose.yaml run for real with podman (no Docker engine here):
# images built (Debian bases from mmdebstrap), the stack up with deploy/compose.test.yaml and
# random secrets, the walk-through through nginx, one API replica killed, the web app in
# Chromium through nginx (web/node_modules: playwright-core), everything torn down. See
# docs/deploy.md. Not in `make test` (a first run builds the images: 10-15 min on 2 cores);
# CI (.ci/run) runs it after `make test` and `make test-asan`.
# podman-compose from PyPI (pinned): Debian's 1.0.3 ignores replicas and depends_on conditions.
COMPOSE_DEB_PACKAGES := podman runc mmdebstrap python3-venv
PODMAN_COMPOSE_VERSION := 1.6.0
PODMAN_COMPOSE_VENV := $(HOME)/.cache/bsocial-compose/venv
test-compose: deps stack-fetch
	@missing=$$(for p in $(COMPOSE_DEB_PACKAGES); do \
	    dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  echo "installing: $$missing"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing; \
	fi
	@$(PODMAN_COMPOSE_VENV)/bin/podman-compose --version 2>/dev/null | grep -q 'version $(PODMAN_COMPOSE_VERSION)' || \
	  { $(PYTHON) -m venv $(PODMAN_COMPOSE_VENV) && \
	    $(PODMAN_COMPOSE_VENV)/bin/pip install -q podman-compose==$(PODMAN_COMPOSE_VERSION); }
	@[ web/node_modules/.package-lock.json -nt web/package-lock.json ] || npm ci --prefix web --no-audit --no-fund
	$(PYTHON) -m pytest -q -p no:cacheprovider tests/compose/test_compose_files.py
	PODMAN_COMPOSE=$(PODMAN_COMPOSE_VENV)/bin/podman-compose $(PYTHON) tests/compose/compose_test.py

# Formatting is a tool's job: .clang-format (Google base, indent 4, 100 columns).
format:
	find src tests bench -name '*.cpp' -o -name '*.hpp' | xargs clang-format -i

clean:
	rm -rf build

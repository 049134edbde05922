# CLP API — build, run and test.  See README.md.
#
#   make            build cgi-bin/clp.fcgi (installs missing Debian packages first)
#   make run        local PostgreSQL + worker pool + nginx on 127.0.0.1:$(CLP_PORT)
#   make test       unit (cmocka), SQL (pg_prove) and integration tests
#   make sanitize   the unit and integration suites built with ASan + UBSan
#   make valgrind   the unit tests and the pool under valgrind
#   make reliability  concurrency, fault and security tests (~1 min)
#   make bench      the service against pgbench's ceiling (bench-quick: < 1 min)
#   make contract-check  lint docs/openapi.yaml (Redocly; npm, Node >= 20.19)
#   make contract-proxy  the integration suite checked against docs/openapi.yaml
#                   by Prism's validation proxy
#   make migrate DATABASE_URL=...   apply sql/ migrations to a database

SHELL      := /bin/sh
CC         ?= cc
VARIANT    ?= release
BUILD      := build/$(VARIANT)
PKGS       := fcgi libpq json-c libcrypt libcrypto
# Deferred (=, never :=): pkg-config runs when a recipe needs the flags,
# after `make deps` has installed it and the -dev packages, not when make
# reads this file (a fresh machine's first `make test` then finds them).
PKG_CFLAGS  = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS    = $(shell pkg-config --libs $(PKGS) 2>/dev/null)

WARN       := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes \
              -Wmissing-prototypes -Wpointer-arith -Wcast-qual -fno-common
CFLAGS     ?= -O2 -g
ALL_CFLAGS  = -std=c11 -D_GNU_SOURCE $(WARN) $(CFLAGS) $(SAN_FLAGS) \
              -Isrc $(PKG_CFLAGS) -MMD -MP
LDLIBS      = $(PKG_LIBS) $(SAN_FLAGS)

ifeq ($(VARIANT),sanitize)
SAN_FLAGS  := -fsanitize=address,undefined -fno-sanitize-recover=all \
              -fno-omit-frame-pointer
endif

# Every module but main.c; the unit tests link against these.
MODULES    := log monotime utf8 points buf jsonw error validate router fcgi request b64url token cursor \
              auth db ops metrics service server pool master
MODULE_OBJS = $(MODULES:%=$(BUILD)/%.o)
BIN        := $(if $(filter release,$(VARIANT)),cgi-bin/clp.fcgi,$(BUILD)/clp.fcgi)

UNIT_TESTS := $(patsubst tests/unit/%.c,%,$(wildcard tests/unit/test_*.c))
UNIT_BINS   = $(UNIT_TESTS:%=$(BUILD)/tests/%)

export CLP_FCGI = $(abspath $(BIN))

.PHONY: all deps run test lint test-unit test-sql test-integration test-routes \
        contract-tools contract-check contract-proxy \
        sanitize valgrind reliability deploy-check container-check fresh-check \
        bench bench-quick bench-growth bench-history migrate clean
.DEFAULT_GOAL := all

all: deps $(BIN)

deps:
	@sh scripts/deps.sh

$(BUILD)/%.o: src/%.c
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(BIN): $(MODULE_OBJS) $(BUILD)/main.o
	@mkdir -p $(@D)
	$(CC) -o $@ $^ $(LDLIBS)

$(BUILD)/tests/%: tests/unit/%.c $(MODULE_OBJS)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -o $@ $(filter %.c %.o,$^) $(LDLIBS) \
		$(shell pkg-config --libs cmocka)

# test_db runs the pipeline against libpq wrapped at link time.
DB_WRAPPED := PQstatus PQenterPipelineMode PQexitPipelineMode \
              PQsendQueryPrepared PQpipelineSync PQgetResult PQresultStatus \
              PQresultErrorField PQclear PQfinish PQconnectdbParams \
              PQntuples PQnfields PQfnumber PQgetvalue PQgetisnull \
              PQgetlength PQcopyResult
$(BUILD)/tests/test_db: LDLIBS += $(DB_WRAPPED:%=-Wl,--wrap=%)

SHELL_SCRIPTS := scripts/deps.sh scripts/pg-cluster scripts/migrate \
                 scripts/stack scripts/run.sh scripts/clpctl scripts/init-db \
                 deploy/migrate deploy/healthcheck deploy/check \
                 deploy/container-check \
                 bench/callgrind.sh .ci/run .ci/fresh-check .ci/debian-root \
                 $(wildcard tests/*.sh tests/sql/*.sh tests/integration/*.sh \
                            tests/contract/*.sh \
                            tests/reliability/*.sh)

test: all lint test-unit fuzz-regress test-sql test-integration test-routes

lint: deps
	shellcheck -s sh $(SHELL_SCRIPTS)

CLP_VECTORS ?= $(abspath ../shared/vectors/points.csv)
export CLP_VECTORS

# Every program runs even after a failure; the target fails if any did.
test-unit: deps $(UNIT_BINS)
	@failed=0; for t in $(UNIT_BINS); do \
		echo "== $$t"; ./$$t || failed=1; \
	done; exit $$failed

test-sql: deps
	@sh tests/sql/run.sh

test-integration: all
	@sh tests/integration/run.sh

# The router's routes (src/router.c) and docs/openapi.yaml's operations are
# the same set.
test-routes: deps
	@prove -e python3 tests/contract/test_routes.py

# The contract's tools, from tools/contract/package-lock.json (npm ci);
# reinstalled when the lock changes.  Never in make test: it needs the npm
# registry and Node.js (the machine's, >= 20.19 for Redocly CLI 2).
CONTRACT_TOOLS := tools/contract
CONTRACT_STAMP := $(CONTRACT_TOOLS)/node_modules/.installed
# No telemetry, no update checks: the lint runs offline but for npm ci.
export REDOCLY_TELEMETRY = off
export REDOCLY_SUPPRESS_UPDATE_NOTICE = true
export REDOCLY_SUPPRESS_NOTIFICATIONS = true
export NO_UPDATE_NOTIFIER = 1

$(CONTRACT_STAMP): $(CONTRACT_TOOLS)/package.json $(CONTRACT_TOOLS)/package-lock.json
	@node -e 'const [a, b] = process.versions.node.split(".").map(Number); process.exit(a > 20 || (a == 20 && b >= 19) ? 0 : 1)' || \
		{ echo "contract: Node.js >= 20.19 needed, found $$(node --version)" >&2; exit 1; }
	cd $(CONTRACT_TOOLS) && npm ci --no-audit --no-fund
	@touch $@

contract-tools: $(CONTRACT_STAMP)

# Redocly's recommended rules, as redocly.yaml sets them: an error or a
# warning fails (a warning is either fixed or justified in redocly.yaml or
# .redocly.lint-ignore.yaml); so does a problem in redocly.yaml itself.
CONTRACT_LOG := build/contract
contract-check: contract-tools
	@mkdir -p $(CONTRACT_LOG)
	@status=0; $(CONTRACT_TOOLS)/node_modules/.bin/redocly lint \
		--lint-config error --max-problems 1000 docs/openapi.yaml \
		>$(CONTRACT_LOG)/lint.log 2>&1 || status=$$?; \
	grep -v '[║╔╚]' $(CONTRACT_LOG)/lint.log; \
	if grep -qE '[0-9]+ warnings?\.' $(CONTRACT_LOG)/lint.log; then \
		echo "contract-check: warnings fail the check" >&2; status=1; \
	fi; exit $$status

# The integration suite's HTTP tests through Prism's validation proxy
# (tests/contract/proxy.sh): any violation of docs/openapi.yaml fails.
contract-proxy: all contract-tools
	@sh tests/contract/proxy.sh

sanitize:
	$(MAKE) VARIANT=sanitize CC=clang test-unit test-integration

# Concurrency, faults and hostile load, nothing lost (docs/RELIABILITY.md).
reliability: all
	@sh tests/reliability/run.sh

# The deployment files, and the image built and run with podman
# (docs/DEPLOYING.md).
deploy-check: all
	sh deploy/check
	sh deploy/container-check

container-check: all
	sh deploy/container-check

# The README's `make test` and `make run`, first runs on a fresh Debian 12
# root (debootstrap), as root and as an ordinary user; root only, several
# minutes.  Nothing here is built on this machine.
fresh-check:
	sh .ci/fresh-check

# Benchmarks (see bench/bench.py and docs/PERFORMANCE.md); never in make test.
bench: all
	python3 bench/bench.py $(BENCH_ARGS)
	python3 bench/history.py

# SPEC §8: a page of a 100,000-order history costs what a page of 10 does.
bench-history: all
	python3 bench/history.py $(BENCH_HISTORY_ARGS)

# Reads and writes as the data grows: 10k, 100k and 1M customers (two orders
# each, so the largest load stays within minutes).
GROWTH_SIZES := 10000 100000 1000000
bench-growth: all
	@for n in $(GROWTH_SIZES); do \
		python3 bench/bench.py --customers $$n --orders-per-customer 2 \
			--only pg_read_c4,pg_record_c16,read_c32,record_c32 --cold-apps 10 \
			--out bench/results/growth-$$n.json $(BENCH_ARGS) || exit 1; \
	done

bench-quick: all
	python3 bench/bench.py --customers 10000 --reps 1 --seconds 2 \
		--conns 16,64 --pg-clients 2,16 --cold-apps 500 \
		--out bench/results/quick.json $(BENCH_ARGS)

# The unit tests and the worker pool (serving the integration suite) under
# valgrind: any error or definitely lost block fails.  With -q valgrind
# writes only problems, so an empty log per process is a pass.
VG_LOGS := build/valgrind
VALGRIND := valgrind -q --leak-check=full --errors-for-leak-kinds=definite \
            --error-exitcode=1
valgrind: all $(UNIT_BINS)
	@rm -rf $(VG_LOGS) && mkdir -p $(VG_LOGS)
	@failed=0; for t in $(UNIT_BINS); do \
		$(VALGRIND) ./$$t >/dev/null || { echo "valgrind: $$t"; failed=1; }; \
	done; exit $$failed
	CLP_POOL_WRAPPER="$(VALGRIND) --log-file=$(abspath $(VG_LOGS))/pool.%p.log" \
		sh tests/integration/run.sh
	@if grep -q . $(VG_LOGS)/*.log; then cat $(VG_LOGS)/*.log; exit 1; fi
	@echo "valgrind: 0 errors, 0 definite leaks in the unit tests and" \
		"$$(ls $(VG_LOGS) | wc -l) pool processes"

# The URL reaches the script in its environment, not on a command line.
migrate: export CLP_DATABASE_URL = $(DATABASE_URL)
migrate: deps
	@test -n "$$CLP_DATABASE_URL" || { echo "usage: make migrate DATABASE_URL=..." >&2; exit 2; }
	@sh scripts/migrate

run: all
	@sh scripts/run.sh

clean:
	rm -rf build cgi-bin/clp.fcgi

include fuzz/Makefile.inc

-include $(wildcard $(BUILD)/*.d $(BUILD)/tests/*.d)

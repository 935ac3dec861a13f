# scen — serve LLM-generated scenarios to research experiments.
#
# Adding a command:
#   1. cmd/scen-NAME.c: a thin main with its option table (struct
#      scen_cli_opt, parsed by scen_cli_parse) that calls scen_NAME() and
#      turns its enum scen_err into the exit status (scen_err_report)
#   2. add scen-NAME to COMMANDS below
#   3. man/scen-NAME.1 (mdoc): its SYNOPSIS and OPTIONS list what the
#      table does (t0120 fails when they drift apart)
#   4. tests/e2e/tNNNN-NAME-*.sh end-to-end tests (the unit tests of the
#      library code it uses go in tests/unit/test_*.c)

VERSION = 0.1.0
PREFIX ?= /usr/local
DESTDIR ?=
BINDIR = $(PREFIX)/bin
MANDIR = $(PREFIX)/share/man

COMMANDS = $(patsubst cmd/%.c,%,$(sort $(wildcard cmd/*.c)))
PKGS = libcurl sqlite3 libpq yaml-0.1 libxxhash jansson

CC ?= cc
OPT ?= -O2 -g
CFLAGS ?= $(OPT)
SCEN_CFLAGS = -std=c17 -D_GNU_SOURCE -Wall -Wextra -Werror -Wshadow \
	-Wno-unused-parameter -Iinclude -DSCEN_VERSION='"$(VERSION)"' \
	$(shell pkg-config --cflags $(PKGS) 2>/dev/null)
LIBS = $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lm
# build/ is the installed build (make, make install, make demo); the tests
# and benchmarks use test builds, compiled with SCEN_TEST_HOOKS: the hooks
# that only tests may use (SCEN_CLOCK_SCALE, SCEN_DB_FAIL_AFTER, ...; see
# util.h and db.h), which no installed binary holds (t0130 checks).
B ?= build
TEST_B = build-test
SAN_B = build-san
SAN_OPT = -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer \
	-fno-sanitize-recover=undefined
TEST_HOOKS ?= $(if $(filter $(TEST_B) $(SAN_B),$(B)),1)
SCEN_CFLAGS += $(if $(TEST_HOOKS),-DSCEN_TEST_HOOKS)

# src/stats/: scen-cache-stats's module, a file per format
SRC = $(sort $(wildcard src/*.c src/stats/*.c))
OBJ = $(SRC:src/%.c=$(B)/obj/%.o)
BINS = $(COMMANDS:%=$(B)/bin/%)
UNIT_SRC = $(sort $(wildcard tests/unit/test_*.c))
UNIT_BINS = $(UNIT_SRC:tests/unit/%.c=$(B)/tests/%)
BENCH_SRC = $(sort $(wildcard tests/bench/bench_*.c))
BENCH_BINS = $(BENCH_SRC:tests/bench/%.c=$(B)/bench/%)

.PHONY: all deps check check-fast check-sanitize check-valgrind check-long \
	fuzz demo bench bench-bins bench-day install clean lint unit-bins \
	no-hooks

all: $(BINS)

# a build made with the hooks and then without (or the other way round)
# is rebuilt whole: the mark of the other kind is gone
HOOKS_MARK = $(B)/hooks-$(if $(TEST_HOOKS),on,off)
$(HOOKS_MARK):
	@mkdir -p $(@D)
	@rm -f $(B)/hooks-*
	@touch $@

$(B)/obj/%.o: src/%.c $(wildcard include/scen/*.h src/*/*.h) $(HOOKS_MARK)
	@mkdir -p $(@D)
	$(CC) $(SCEN_CFLAGS) $(CFLAGS) -c -o $@ $<

$(B)/libscen.a: $(OBJ)
	@rm -f $@
	ar rcs $@ $^

$(B)/bin/%: cmd/%.c $(B)/libscen.a
	@mkdir -p $(@D)
	$(CC) $(SCEN_CFLAGS) $(CFLAGS) -o $@ $< $(B)/libscen.a $(LIBS)

$(B)/tests/%: tests/unit/%.c $(wildcard tests/unit/*.h) $(B)/libscen.a
	@mkdir -p $(@D)
	$(CC) $(SCEN_CFLAGS) $(CFLAGS) -o $@ $< $(B)/libscen.a $(LIBS) \
		$(shell pkg-config --libs cmocka 2>/dev/null)

$(B)/bench/%: tests/bench/%.c $(B)/libscen.a
	@mkdir -p $(@D)
	$(CC) $(SCEN_CFLAGS) $(CFLAGS) -o $@ $< $(B)/libscen.a $(LIBS)

# Installs the Debian packages that are missing (as root; no-op when present).
deps:
	@tests/lib/install-deps.sh

# make check: the installed build (which t0130 checks holds no test hook),
# then every test on the test build, then again on a build with
# AddressSanitizer and UndefinedBehaviorSanitizer, then the fuzz targets'
# seed and regression inputs; one summary line at the end.
check: deps
	@$(MAKE) --no-print-directory all
	@$(MAKE) --no-print-directory B=$(TEST_B) all unit-bins
	@$(MAKE) --no-print-directory B=$(SAN_B) OPT="$(SAN_OPT)" all unit-bins
	@SCEN_PLAIN_BUILD=$(B) tests/run-tests.sh --sanitize $(SAN_B) $(TEST_B)

# the test build's tests alone
check-fast: deps
	@$(MAKE) --no-print-directory all
	@$(MAKE) --no-print-directory B=$(TEST_B) all unit-bins
	@SCEN_PLAIN_BUILD=$(B) tests/run-tests.sh $(TEST_B)

check-sanitize: deps
	@$(MAKE) --no-print-directory B=$(SAN_B) OPT="$(SAN_OPT)" all unit-bins
	@tests/run-tests.sh $(SAN_B)

# the unit tests and the end-to-end tests with every command under
# valgrind's memcheck (about 15 minutes; t8700 in make check is its short form)
check-valgrind: deps
	@$(MAKE) --no-print-directory B=$(TEST_B) all unit-bins
	@SCEN_VALGRIND=1 tests/run-tests.sh $(TEST_B)

# what takes minutes: the crash test's many kills, a million-line load
check-long: deps
	@$(MAKE) --no-print-directory B=$(TEST_B) all unit-bins
	@SCEN_LONG=1 tests/run-tests.sh $(TEST_B) long

FUZZ_SECONDS ?= 60
fuzz: deps
	@tests/fuzz/run-fuzz.sh $(B) $(FUZZ_SECONDS)

# the unit tests use the test hooks: a test build's alone
unit-bins: $(if $(TEST_HOOKS),$(UNIT_BINS),no-hooks)

no-hooks:
	@echo "$(B) is built without the test hooks: make B=$(TEST_B) $(MAKECMDGOALS)" >&2
	@false

demo: deps
	@$(MAKE) --no-print-directory all
	@examples/demo.sh $(B)

bench: deps
	@$(MAKE) --no-print-directory B=$(TEST_B) all bench-bins
	@tests/bench/run-bench.sh $(TEST_B)

bench-bins: $(BENCH_BINS)

# a day of a study in a few minutes: normal, outage, disaster
bench-day: deps
	@$(MAKE) --no-print-directory B=$(TEST_B) all
	@tests/bench/run-bench.sh $(TEST_B) day

lint:
	mandoc -T lint -W warning man/*

install: all
	@if [ -n "$(TEST_HOOKS)" ]; then \
		echo "make install: $(B) holds the test hooks; install from build/" >&2; \
		exit 2; fi
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1 \
		$(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(MANDIR)/man7
	install -m 755 $(BINS) $(DESTDIR)$(BINDIR)
	for m in man/*.[157]; do \
		s=$${m##*.}; install -m 644 $$m $(DESTDIR)$(MANDIR)/man$$s; done

clean:
	rm -rf $(B) $(TEST_B) $(SAN_B)

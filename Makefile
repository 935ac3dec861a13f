# scen — serve LLM-generated scenarios to research experiments.
#
# Adding a command:
#   1. cmd/scen-NAME.c: a thin main that parses options and calls scen_NAME()
#   2. add scen-NAME to COMMANDS below
#   3. man/scen-NAME.1 (mdoc), with --help matching its SYNOPSIS
#   4. tests/e2e/tNNNN-NAME-*.sh end-to-end tests (the unit tests of the
#      library code it uses go in tests/unit/test_*.c)

VERSION = 0.1.0
PREFIX ?= /usr/local
DESTDIR ?=
BINDIR = $(PREFIX)/bin
MANDIR = $(PREFIX)/share/man

COMMANDS = $(patsubst cmd/%.c,%,$(sort $(wildcard cmd/*.c)))
PKGS = libcurl sqlite3 yaml-0.1 libxxhash jansson

CC ?= cc
OPT ?= -O2 -g
CFLAGS ?= $(OPT)
SCEN_CFLAGS = -std=c17 -D_GNU_SOURCE -Wall -Wextra -Werror -Wshadow \
	-Wno-unused-parameter -Iinclude -DSCEN_VERSION='"$(VERSION)"' \
	$(shell pkg-config --cflags $(PKGS) 2>/dev/null)
LIBS = $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lm
B ?= build

# src/stats/: scen-cache-stats's module, a file per format
SRC = $(sort $(wildcard src/*.c src/stats/*.c))
OBJ = $(SRC:src/%.c=$(B)/obj/%.o)
BINS = $(COMMANDS:%=$(B)/bin/%)
UNIT_SRC = $(sort $(wildcard tests/unit/test_*.c))
UNIT_BINS = $(UNIT_SRC:tests/unit/%.c=$(B)/tests/%)
BENCH_SRC = $(sort $(wildcard tests/bench/bench_*.c))
BENCH_BINS = $(BENCH_SRC:tests/bench/%.c=$(B)/bench/%)

.PHONY: all deps check check-fast check-sanitize check-valgrind check-long \
	fuzz demo bench bench-day install clean lint unit-bins

all: $(BINS)

$(B)/obj/%.o: src/%.c $(wildcard include/scen/*.h src/*/*.h)
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

# make check: every test on the normal build, then again on a build with
# AddressSanitizer and UndefinedBehaviorSanitizer, then the fuzz targets'
# seed and regression inputs; one summary line at the end.
check: deps
	@$(MAKE) --no-print-directory all unit-bins
	@$(MAKE) --no-print-directory B=build-san \
		OPT="-O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined" \
		all unit-bins
	@tests/run-tests.sh --sanitize build-san $(B)

# the normal build's tests alone
check-fast: deps
	@$(MAKE) --no-print-directory all unit-bins
	@tests/run-tests.sh $(B)

check-sanitize: deps
	@$(MAKE) --no-print-directory B=build-san \
		OPT="-O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined" \
		all unit-bins
	@tests/run-tests.sh build-san

# the unit tests and the end-to-end tests with every command under
# valgrind's memcheck (about 15 minutes; t8700 in make check is its short form)
check-valgrind: deps
	@$(MAKE) --no-print-directory all unit-bins
	@SCEN_VALGRIND=1 tests/run-tests.sh $(B)

# what takes minutes: the crash test's many kills, a million-line load
check-long: deps
	@$(MAKE) --no-print-directory all unit-bins
	@SCEN_LONG=1 tests/run-tests.sh $(B) long

FUZZ_SECONDS ?= 60
fuzz: deps
	@tests/fuzz/run-fuzz.sh $(B) $(FUZZ_SECONDS)

unit-bins: $(UNIT_BINS)

demo: deps
	@$(MAKE) --no-print-directory all
	@examples/demo.sh $(B)

bench: deps
	@$(MAKE) --no-print-directory all $(BENCH_BINS)
	@tests/bench/run-bench.sh $(B)

# a day of a study in a few minutes: normal, outage, disaster
bench-day: deps
	@$(MAKE) --no-print-directory all
	@tests/bench/run-bench.sh $(B) day

lint:
	mandoc -T lint -W warning man/*

install: all
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1 \
		$(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(MANDIR)/man7
	install -m 755 $(BINS) $(DESTDIR)$(BINDIR)
	for m in man/*.[157]; do \
		s=$${m##*.}; install -m 644 $$m $(DESTDIR)$(MANDIR)/man$$s; done

clean:
	rm -rf $(B) build-san

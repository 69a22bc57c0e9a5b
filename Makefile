# The hub's build. Non-recursive: every target is known to this one make.
#   make          libraries and every binary into bin/
#   make deps     install missing Debian packages (tools/deps.sh)
#   make run      the hub end to end on the shipped configuration
#   make test     unit suites, fuzz corpora replay, integration tests
#   make asan     the same suite built with ASan + UBSan
#   make bench    benchmarks
#   make fuzz     libFuzzer targets (clang)

CC      ?= cc
BUILD   ?= build
BIN     ?= bin
AR      := gcc-ar
OPT     ?= -O3 -g -flto=auto
SAN     ?=
WARN    := -Wall -Wextra -Wpedantic -Werror -Wshadow -Wstrict-prototypes \
           -Wmissing-prototypes -Wformat=2 -Wvla -Wimplicit-fallthrough
CFLAGS  := -std=c11 -D_POSIX_C_SOURCE=200809L $(OPT) $(WARN) $(SAN) -Ihub/lib -Iadapters -MMD -MP
# -Wno-stringop-overread: GCC 12 at LTO link time misreads diag entries as
# zero-sized (a known false positive); compile-time warnings stay errors.
LDFLAGS := $(SAN) $(OPT) -Wno-stringop-overread
LIBS    := -lyaml -ljansson -lsodium -lzmq -llmdb -lm

LIB_SRC    := $(wildcard hub/lib/*.c)
LIB_OBJ    := $(LIB_SRC:%.c=$(BUILD)/%.o)
LIBHUB     := $(BUILD)/libhub.a

HUBCTL_SRC := $(wildcard hub/hubctl/*.c)
HUBCTL_OBJ := $(HUBCTL_SRC:%.c=$(BUILD)/%.o)

CLIENT_SRC := $(wildcard adapters/*.c)
CLIENT_OBJ := $(CLIENT_SRC:%.c=$(BUILD)/%.o)
LIBCLIENT  := $(BUILD)/libhubclient.a

HUBD_SRC   := $(wildcard hub/hubd/*.c)
HUBD_OBJ   := $(HUBD_SRC:%.c=$(BUILD)/%.o)

UNIT_SRC   := $(wildcard tests/unit/*.c)
UNIT_OBJ   := $(UNIT_SRC:%.c=$(BUILD)/%.o)
UNIT_BIN   := $(BUILD)/tests/unit_tests

FUZZ_TARGETS := $(patsubst tests/fuzz/fuzz_%.c,%,$(wildcard tests/fuzz/fuzz_*.c))
FUZZ_REPLAY  := $(FUZZ_TARGETS:%=$(BUILD)/fuzz/replay_%)

BENCH_SRC  := $(wildcard tests/bench/bench_*.c)
BENCH_BIN  := $(BENCH_SRC:tests/bench/%.c=$(BUILD)/bench/%)

ADAPTER_SRC := $(wildcard adapters/hub_adapter/*.c)
ADAPTER_OBJ := $(ADAPTER_SRC:%.c=$(BUILD)/%.o)
SINK_SRC    := $(wildcard adapters/hub_sink/*.c)
SINK_OBJ    := $(SINK_SRC:%.c=$(BUILD)/%.o)

BINARIES   := $(BIN)/hubctl $(BIN)/hubd
ifneq ($(ADAPTER_SRC),)
BINARIES   += $(BIN)/hub-adapter
endif
ifneq ($(SINK_SRC),)
BINARIES   += $(BIN)/hub-sink
endif
TOOLS      := $(BUILD)/tools/hubc_tool $(BUILD)/tools/hub_probe

.PHONY: all deps run test test-run asan bench fuzz clean format check-format
.DEFAULT_GOAL := all
.SECONDARY:

all: $(BINARIES)

deps:
	@sh tools/deps.sh

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c $< -o $@

$(LIBHUB): $(LIB_OBJ)
	@mkdir -p $(dir $@)
	$(AR) rcs $@ $^

$(BIN)/hubctl: $(HUBCTL_OBJ) $(LIBHUB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $(HUBCTL_OBJ) $(LIBHUB) $(LIBS) -lzmq

$(LIBCLIENT): $(CLIENT_OBJ)
	@mkdir -p $(dir $@)
	$(AR) rcs $@ $^

$(BUILD)/tools/%: $(BUILD)/tests/tools/%.o $(LIBCLIENT) $(LIBHUB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS)

$(BIN)/hubd: $(HUBD_OBJ) $(LIBHUB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $(HUBD_OBJ) $(LIBHUB) $(LIBS) -lzmq -lmicrohttpd -lpthread

$(BIN)/hub-adapter: $(ADAPTER_OBJ) $(LIBCLIENT) $(LIBHUB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS)

$(BIN)/hub-sink: $(SINK_OBJ) $(LIBCLIENT) $(LIBHUB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS)

# hubd's pure parts, tested on their own.
UNIT_HUBD  := $(BUILD)/hub/hubd/hubd_metrics.o $(BUILD)/hub/hubd/hubd_deliver_map.o

$(UNIT_BIN): $(UNIT_OBJ) $(UNIT_HUBD) $(LIBCLIENT) $(LIBHUB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $(UNIT_OBJ) $(UNIT_HUBD) $(LIBCLIENT) $(LIBHUB) $(LIBS) -lcunit -lmsgpackc -lmicrohttpd -lpthread

$(BUILD)/fuzz/replay_%: $(BUILD)/tests/fuzz/fuzz_%.o $(BUILD)/tests/fuzz/replay_main.o $(LIBCLIENT) $(LIBHUB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS)

$(BUILD)/bench/%: $(BUILD)/tests/bench/%.o $(LIBCLIENT) $(LIBHUB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS) -lpthread

# The whole suite against whatever BUILD/BIN say (asan reuses it).
test-run: $(BINARIES) $(TOOLS) $(UNIT_BIN) $(FUZZ_REPLAY)
	$(UNIT_BIN)
	@for t in $(FUZZ_TARGETS); do \
	    echo "fuzz corpus replay: $$t"; \
	    $(BUILD)/fuzz/replay_$$t tests/fuzz/corpus/$$t || exit 1; \
	done
	HUB_BIN=$(abspath $(BIN)) HUB_TOOLS=$(abspath $(BUILD)/tools) sh tests/integration/run.sh
	$(BIN)/hubctl check --config config
	$(BIN)/hubctl rules test --suite config/tests

test: deps
	@$(MAKE) --no-print-directory test-run

asan: deps
	@$(MAKE) --no-print-directory test-run BUILD=build/asan BIN=build/asan/bin OPT="-O1 -g" \
	    SAN="-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer"

bench: deps $(BINARIES) $(BENCH_BIN)
	@for b in $(BENCH_BIN); do $$b || exit 1; done
	@sh tests/bench/adapter_e2e.sh

# libFuzzer targets, built with clang. Run one: build/fuzz/fuzz_codec -max_total_time=60 tests/fuzz/corpus/codec
fuzz: deps
	@$(MAKE) --no-print-directory fuzz-build CC=clang BUILD=build/fuzzbuild OPT="-O1 -g" \
	    SAN="-fsanitize=fuzzer-no-link,address,undefined"

fuzz-build: $(LIBCLIENT) $(LIBHUB)
	@mkdir -p build/fuzz
	@for t in $(FUZZ_TARGETS); do \
	    echo "clang fuzz_$$t"; \
	    clang -std=c11 -D_POSIX_C_SOURCE=200809L -O1 -g -Ihub/lib \
	        -fsanitize=fuzzer,address,undefined -Iadapters tests/fuzz/fuzz_$$t.c $(LIBCLIENT) $(LIBHUB) $(LIBS) \
	        -o build/fuzz/fuzz_$$t || exit 1; \
	done

# PEOPLE=100000 make run: the same end to end on a larger population.
run: deps all
	@PEOPLE=$${PEOPLE:-2000} sh tools/run.sh

format:
	clang-format -i hub/*/*.[ch] adapters/*.[ch] adapters/*/*.[ch] tests/*/*.[ch]

clean:
	rm -rf build bin

# Every object's header dependencies (the fuzz replays and tools too: a
# header that changes a struct must rebuild whatever reads it).
-include $(LIB_OBJ:.o=.d) $(HUBCTL_OBJ:.o=.d) $(HUBD_OBJ:.o=.d) $(UNIT_OBJ:.o=.d) \
    $(CLIENT_OBJ:.o=.d) $(ADAPTER_OBJ:.o=.d) $(SINK_OBJ:.o=.d) $(BENCH_SRC:tests/bench/%.c=$(BUILD)/tests/bench/%.d) \
    $(FUZZ_TARGETS:%=$(BUILD)/tests/fuzz/fuzz_%.d) $(BUILD)/tests/fuzz/replay_main.d \
    $(wildcard $(BUILD)/tests/tools/*.d)

# make install [PREFIX=/usr/local] [DESTDIR=] [UNITDIR=$(PREFIX)/lib/systemd/system]
# Binaries, the schemas, the shipped configuration as an example (never its
# keys), the docs, the deploy scripts and the systemd units (their paths
# rewritten to PREFIX). Then, once per machine, as root:
# $(PREFIX)/share/hub/deploy/install.sh (docs/OPERATIONS.md, "Deployment").
PREFIX   ?= /usr/local
UNITDIR  ?= $(PREFIX)/lib/systemd/system
SHAREDIR := $(PREFIX)/share/hub
DOCDIR   := $(PREFIX)/share/doc/hub

.PHONY: install
install: $(BINARIES)
	install -d -m 0755 $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(SHAREDIR)/deploy \
	    $(DESTDIR)$(DOCDIR) $(DESTDIR)$(UNITDIR)
	install -m 0755 $(BINARIES) $(DESTDIR)$(PREFIX)/bin/
	rm -rf $(DESTDIR)$(SHAREDIR)/schemas $(DESTDIR)$(SHAREDIR)/config
	install -d -m 0755 $(DESTDIR)$(SHAREDIR)/schemas $(DESTDIR)$(SHAREDIR)/config
	tar -C schemas -cf - . | tar -C $(DESTDIR)$(SHAREDIR)/schemas --no-same-owner -xf -
	tar -C config --exclude=./keys -cf - . | tar -C $(DESTDIR)$(SHAREDIR)/config --no-same-owner -xf -
	chmod -R u=rwX,go=rX $(DESTDIR)$(SHAREDIR)/schemas $(DESTDIR)$(SHAREDIR)/config
	install -m 0644 README.md docs/*.md $(DESTDIR)$(DOCDIR)/
	install -m 0755 deploy/install.sh deploy/backup.sh deploy/restore.sh $(DESTDIR)$(SHAREDIR)/deploy/
	for u in deploy/systemd/*.service deploy/systemd/*.timer; do \
	    sed -e 's|/usr/local/bin/|$(PREFIX)/bin/|g' -e 's|/usr/local/share/|$(PREFIX)/share/|g' \
	        "$$u" >"$(DESTDIR)$(UNITDIR)/$${u##*/}" && chmod 0644 "$(DESTDIR)$(UNITDIR)/$${u##*/}" \
	        || exit 1; \
	done

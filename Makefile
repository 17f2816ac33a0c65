# revenge - watch-party toolkit. See README.md.
#   make            build library and commands into bin/ and build/
#   make run        install missing dependencies, build, start revenge-server
#   make test       every test: unit (cmocka), CLI (bats), ASan+UBSan, valgrind
#   make install    PREFIX=/usr/local DESTDIR=
VERSION   := 0.1.0
PREFIX    ?= /usr/local
DESTDIR   ?=
BINDIR    ?= $(PREFIX)/bin
LIBDIR    ?= $(PREFIX)/lib
INCDIR    ?= $(PREFIX)/include
MANDIR    ?= $(PREFIX)/share/man
DATADIR   ?= $(PREFIX)/share
# Where each shell looks: zsh searches /usr/local/share/zsh/site-functions
# (vendor-completions is for the distribution's own packages, under /usr);
# fish looks in no /usr/local directory at all, only in its own
# vendor_completions.d (pkg-config fish's completionsdir); bash-completion
# also looks beside the command ($(PREFIX)/share/bash-completion).
ZSH_COMPDIR  ?= $(if $(filter /usr,$(PREFIX)),$(DATADIR)/zsh/vendor-completions,$(DATADIR)/zsh/site-functions)
FISH_COMPDIR ?= $(or $(shell pkg-config --variable=completionsdir fish 2>/dev/null),/usr/share/fish/vendor_completions.d)
BASH_COMPDIR ?= $(DATADIR)/bash-completion/completions
# The service: systemd reads units under /usr/local/lib/systemd/system and
# /usr/lib/systemd/system alike; the configuration file is read from
# /etc/revenge whatever the prefix (cmd/revenge-server/config.h).
SYSTEMD_UNITDIR ?= $(PREFIX)/lib/systemd/system
SYSCONFDIR   ?= /etc

CC        ?= cc
# The flags are read when make parses this file. On a fresh machine the
# packages are not there yet, so every target that installs them (run,
# test, bench) builds in a second make, started after scripts/deps.sh, which
# reads the flags anew; a build without them stops at pkgcheck.
PKGS      := libwebsockets jansson sqlite3 zlib libjwt libssl libcrypto hiredis libpq
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)
# revenge-server alone also reads its configuration file with libinih.
SERVER_PKGS := inih
PKG_OK     := $(shell pkg-config --exists $(PKGS) $(SERVER_PKGS) 2>/dev/null && echo yes)
CMOCKA_LIBS := $(shell pkg-config --libs cmocka 2>/dev/null)
DEPS_SCRIPT ?= scripts/deps.sh
RUN_FLAGS ?= --listen 127.0.0.1:8080 --db var/revenge.db
TEST_CMD  ?= scripts/run-tests.sh

# BUILD selects an output tree; the ASan build lives in build/asan.
BUILD     ?= build
SAN       :=
ifeq ($(BUILD),build/asan)
SAN       := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
OPT       := -O1 -g
endif

WARN      := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wno-unused-parameter
OPT       ?= -O2 -g
CFLAGS    ?=
# CPPFLAGS and LDFLAGS: a packager's (dpkg-buildflags: fortify, relro).
CPPFLAGS  ?=
LDFLAGS   ?=
ALL_CFLAGS := -std=gnu11 -D_GNU_SOURCE $(OPT) $(WARN) -fPIC -DRV_VERSION=\"$(VERSION)\" \
	-Ilib/include -Ilib $(PKG_CFLAGS) $(CPPFLAGS) $(CFLAGS)
LDLIBS    := $(PKG_LIBS) -lev -lm -pthread


LIB_SRCS  := $(wildcard lib/*.c)
LIB_OBJS  := $(LIB_SRCS:lib/%.c=$(BUILD)/lib/%.o)
LIB_A     := $(BUILD)/librevenge.a
LIB_SO    := $(BUILD)/librevenge.so.0

CMDS      := revenge-server revenge-probe revenge-party revenge-bench
CMD_BINS  := $(CMDS:%=$(BUILD)/bin/%)
TOOLS     :=
TOOL_BINS := $(TOOLS:%=$(BUILD)/bin/%)
HELPERS   := rvcat
HELPER_BINS := $(HELPERS:%=$(BUILD)/tests/%)
UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(UNIT_SRCS:tests/unit/%.c=$(BUILD)/tests/%)

.PHONY: all deps pkgcheck run test unit cli check-asan valgrind fuzz fuzz-build fuzz-smoke soak bench bench-cluster bench-shards bench-store bench-web tests-build clean install uninstall dist
all: $(CMD_BINS) $(TOOL_BINS) $(LIB_SO) $(HELPER_BINS)
ifeq ($(BUILD),build)
	@mkdir -p bin && for c in $(CMDS) $(TOOLS); do ln -sf ../build/bin/$$c bin/$$c; done
endif

deps:
	@$(DEPS_SCRIPT)

pkgcheck:
ifneq ($(PKG_OK),yes)
	@echo "make: pkg-config cannot find $(PKGS) $(SERVER_PKGS): run 'make deps' (or 'make run')" >&2
	@exit 1
endif

$(BUILD)/lib/%.o: lib/%.c $(wildcard lib/*.h lib/include/revenge/*.h) Makefile | pkgcheck
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(SAN) -c -o $@ $<

# The commit in revenge_build_info: version.o alone takes it, and is
# rebuilt when it changes (the stamp is rewritten only then). Outside git
# (a release tarball) it is empty.
COMMIT    ?= $(shell git rev-parse --short=12 HEAD 2>/dev/null)
$(BUILD)/commit.stamp: FORCE
	@mkdir -p $(@D)
	@echo '$(COMMIT)' | cmp -s - $@ || echo '$(COMMIT)' >$@
$(BUILD)/lib/version.o: $(BUILD)/commit.stamp
$(BUILD)/lib/version.o: private ALL_CFLAGS += -DRV_COMMIT=\"$(COMMIT)\"
.PHONY: FORCE
FORCE:
# The web client (web/: plain HTML, CSS and JavaScript, no build step) is
# compiled into the library: lib/web.c includes the files as byte arrays.
WEB_FILES := $(sort $(wildcard web/*.html web/*.css web/*.js web/*.svg))
$(BUILD)/gen/web_assets.h: $(WEB_FILES) scripts/embed-web.sh
	@mkdir -p $(@D)
	scripts/embed-web.sh $(WEB_FILES) > $@.tmp && mv $@.tmp $@
$(BUILD)/lib/web.o: $(BUILD)/gen/web_assets.h
$(BUILD)/lib/web.o: private ALL_CFLAGS += -I$(BUILD)/gen

$(LIB_A): $(LIB_OBJS)
	@rm -f $@
	ar rcs $@ $^

$(LIB_SO): $(LIB_OBJS)
	$(CC) -shared -Wl,-soname,librevenge.so.0 $(SAN) $(LDFLAGS) -o $@ $^ $(LDLIBS)

CLI_SRCS  := $(wildcard cmd/common/*.c)
.SECONDEXPANSION:
$(BUILD)/bin/%: $$(wildcard cmd/%/*.c cmd/%/*.h) $(CLI_SRCS) cmd/common/cli.h $(LIB_A)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -Icmd/common $(SAN) $(LDFLAGS) -o $@ $(filter %.c,$^) $(LIB_A) $(LDLIBS)

$(BUILD)/bin/revenge-server: private ALL_CFLAGS += $(shell pkg-config --cflags $(SERVER_PKGS) 2>/dev/null)
$(BUILD)/bin/revenge-server: private LDLIBS += $(shell pkg-config --libs $(SERVER_PKGS) 2>/dev/null)

# revenge-bench --raw checks Sec-WebSocket-Accept with libcrypto's SHA1
# (libssl-dev, a dependency of libwebsockets already).
$(BUILD)/bin/revenge-bench: private LDLIBS += -lcrypto

# The terminal client also needs ncursesw and readline.
TUI_PKGS  := ncursesw readline
$(BUILD)/bin/revenge-party: $(wildcard tui/revenge-party/*.c tui/revenge-party/*.h) \
		$(CLI_SRCS) cmd/common/cli.h $(LIB_A)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -Icmd/common -Itui/revenge-party $(shell pkg-config --cflags $(TUI_PKGS)) \
		$(SAN) $(LDFLAGS) -o $@ $(filter %.c,$^) $(LIB_A) $(LDLIBS) $(shell pkg-config --libs $(TUI_PKGS))

$(BUILD)/tests/%: tests/helpers/%.c $(LIB_A)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(SAN) -o $@ $< $(LIB_A) $(LDLIBS)

$(BUILD)/tests/test_%: tests/unit/test_%.c tests/unit/*.h $(LIB_A)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(SAN) -o $@ $< $(LIB_A) $(LDLIBS) $(CMOCKA_LIBS)

# The probe's scenario module is not in the library: its test links it in.
$(BUILD)/tests/test_scenario: tests/unit/test_scenario.c \
		$(wildcard cmd/revenge-probe/scenario*.c cmd/revenge-probe/scenario*.h) \
		tests/unit/*.h $(LIB_A)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(SAN) -Icmd/revenge-probe -o $@ $(filter %.c,$^) $(LIB_A) \
		$(LDLIBS) $(CMOCKA_LIBS)

# revenge-bench's delay model (sync) likewise.
$(BUILD)/tests/test_bench_delay: tests/unit/test_bench_delay.c cmd/revenge-bench/delay.c \
		cmd/revenge-bench/delay.h tests/unit/*.h $(LIB_A)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(SAN) -Icmd/revenge-bench -o $@ $(filter %.c,$^) $(LIB_A) \
		$(LDLIBS) $(CMOCKA_LIBS)

# revenge-party's model and commands are not in the library either: their
# tests (and fuzz_tui) link them in; only the view and main need a terminal.
TUI_CORE_SRCS := $(filter-out tui/revenge-party/main.c tui/revenge-party/view.c,\
	$(wildcard tui/revenge-party/*.c))
$(BUILD)/tests/test_tui_model $(BUILD)/tests/test_tui_command: $(BUILD)/tests/%: \
		tests/unit/%.c $(TUI_CORE_SRCS) $(wildcard tui/revenge-party/*.h) \
		tests/unit/*.h $(LIB_A)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(SAN) -Itui/revenge-party -o $@ $(filter %.c,$^) $(LIB_A) \
		$(LDLIBS) $(CMOCKA_LIBS)

# A new make after deps: see PKG_CFLAGS.
run: deps
	@$(MAKE) --no-print-directory all
	@mkdir -p var
	./bin/revenge-server $(RUN_FLAGS)

# make test: everything, in one command; the final line sums it up.
# scripts/run-tests.sh builds with make of its own, after deps.
test: deps
	@$(TEST_CMD)

unit: $(UNIT_BINS)
	@scripts/run-tests.sh --only unit --build $(BUILD)

cli: all
	@scripts/run-tests.sh --only cli --build $(BUILD)

check-asan:
	@$(MAKE) --no-print-directory BUILD=build/asan all $(patsubst build/%,build/asan/%,$(UNIT_BINS))
	@scripts/run-tests.sh --only unit,cli --build build/asan

# make bench: revenge-bench against a pinned server; results in bench/results/.
bench: deps
	@$(MAKE) --no-print-directory all
	@scripts/bench.sh

# make bench-cluster: one node against two through Redis (bench-cluster.sh).
bench-cluster: deps
	@$(MAKE) --no-print-directory all
	@scripts/bench-cluster.sh

# make bench-shards: one Redis against two Redis shards (bench-shards.sh).
bench-shards: deps
	@$(MAKE) --no-print-directory all
	@scripts/bench-shards.sh
# make bench-web: real browser players' spread (headless Chromium pages),
# BENCH_WEB_SECONDS of samples after each host command (default 4).
bench-web: deps
	@$(MAKE) --no-print-directory all
	@scripts/bench-web.sh $(BENCH_WEB_SECONDS)

# make bench-store: durable progress on SQLite against PostgreSQL.
bench-store: deps
	@$(MAKE) --no-print-directory all
	@scripts/bench-store.sh

# make fuzz: libFuzzer (clang) on every parser of untrusted text, each for
# FUZZ_SECONDS; make fuzz-smoke: each for FUZZ_SMOKE_SECONDS (in make test).
# A target tests/fuzz/fuzz_NAME.c links the library (built once with the
# fuzzer's instrumentation) and the sources in FUZZ_SRCS_fuzz_NAME; its
# seeds are in tests/fuzz/seeds/fuzz_NAME/, what it finds in build/fuzz/.
FUZZ_SECONDS ?= 60
FUZZ_SMOKE_SECONDS ?= 4
FUZZ_NAMES   := $(patsubst tests/fuzz/%.c,%,$(wildcard tests/fuzz/fuzz_*.c))
FUZZ_TARGETS := $(FUZZ_NAMES:%=build/fuzz/%)
FUZZ_CFLAGS  := -std=gnu11 -D_GNU_SOURCE -g -O1 -fno-omit-frame-pointer \
	-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=all \
	$(WARN) -DRV_VERSION=\"$(VERSION)\" -Ilib/include -Ilib $(PKG_CFLAGS)
FUZZ_LIB_OBJS := $(LIB_SRCS:lib/%.c=build/fuzz/lib/%.o)
.SECONDARY: $(FUZZ_LIB_OBJS)
FUZZ_SRCS_fuzz_scenario := $(wildcard cmd/revenge-probe/scenario*.c)
FUZZ_SRCS_fuzz_tui := $(TUI_CORE_SRCS)

build/fuzz/lib/%.o: lib/%.c $(wildcard lib/*.h lib/include/revenge/*.h) Makefile | pkgcheck
	@mkdir -p $(@D)
	clang $(FUZZ_CFLAGS) -c -o $@ $<
build/fuzz/lib/web.o: build/gen/web_assets.h
build/fuzz/lib/web.o: private FUZZ_CFLAGS += -Ibuild/gen
ifneq ($(BUILD),build)
build/gen/web_assets.h: $(WEB_FILES) scripts/embed-web.sh
	@mkdir -p $(@D)
	scripts/embed-web.sh $(WEB_FILES) > $@.tmp && mv $@.tmp $@
endif

build/fuzz/%: tests/fuzz/%.c $$(FUZZ_SRCS_$$*) $(FUZZ_LIB_OBJS) \
		$(wildcard cmd/revenge-probe/*.h tui/revenge-party/*.h)
	@mkdir -p $(@D)
	clang $(FUZZ_CFLAGS) -fsanitize=fuzzer -Icmd/revenge-probe -Itui/revenge-party \
		-o $@ $< $(FUZZ_SRCS_$*) $(FUZZ_LIB_OBJS) $(PKG_LIBS) -lev -lm

fuzz-build: $(FUZZ_TARGETS)

fuzz: $(FUZZ_TARGETS)
	@scripts/fuzz.sh $(FUZZ_SECONDS) $(FUZZ_NAMES)

fuzz-smoke: $(FUZZ_TARGETS)
	@scripts/fuzz.sh $(FUZZ_SMOKE_SECONDS) $(FUZZ_NAMES)

# make soak: hostile frames, JSON, names, tokens and HTTP against the ASan
# server beside well-behaved clients, for SOAK_SECONDS (make test: 30 s).
SOAK_SECONDS ?= 600
soak: deps
	@$(MAKE) --no-print-directory BUILD=build/asan all
	@scripts/soak.sh $(SOAK_SECONDS) build/asan

valgrind: $(UNIT_BINS)
	@scripts/run-tests.sh --only valgrind --build $(BUILD)

tests-build: all $(UNIT_BINS)

clean:
	rm -rf build bin

install: all
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(LIBDIR)/pkgconfig $(DESTDIR)$(INCDIR)/revenge \
		$(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(BASH_COMPDIR) $(DESTDIR)$(ZSH_COMPDIR) \
		$(DESTDIR)$(FISH_COMPDIR)
	install -m 755 $(CMD_BINS) $(DESTDIR)$(BINDIR)/
	install -m 644 $(LIB_A) $(DESTDIR)$(LIBDIR)/
	install -m 755 $(LIB_SO) $(DESTDIR)$(LIBDIR)/
	ln -sf librevenge.so.0 $(DESTDIR)$(LIBDIR)/librevenge.so
	install -m 644 lib/include/revenge/*.h $(DESTDIR)$(INCDIR)/revenge/
	sed -e 's|@PREFIX@|$(PREFIX)|; s|@LIBDIR@|$(LIBDIR)|; s|@INCDIR@|$(INCDIR)|; s|@VERSION@|$(VERSION)|' \
		revenge.pc.in > $(DESTDIR)$(LIBDIR)/pkgconfig/revenge.pc
	install -m 644 docs/man/*.1 $(DESTDIR)$(MANDIR)/man1/
	for c in $(CMDS); do \
		install -m 644 completions/$$c.bash $(DESTDIR)$(BASH_COMPDIR)/$$c; \
		install -m 644 completions/_$$c $(DESTDIR)$(ZSH_COMPDIR)/_$$c; \
		install -m 644 completions/$$c.fish $(DESTDIR)$(FISH_COMPDIR)/$$c.fish; \
	done
	install -d $(DESTDIR)$(SYSTEMD_UNITDIR) $(DESTDIR)$(SYSCONFDIR)/revenge
	sed -e 's|@BINDIR@|$(BINDIR)|g' dist/systemd/revenge-server.service.in \
		> $(DESTDIR)$(SYSTEMD_UNITDIR)/revenge-server.service
	chmod 644 $(DESTDIR)$(SYSTEMD_UNITDIR)/revenge-server.service
	@# an operator's own configuration is never overwritten
	[ -e $(DESTDIR)$(SYSCONFDIR)/revenge/revenge-server.conf ] || \
		install -m 644 docs/examples/revenge-server.conf $(DESTDIR)$(SYSCONFDIR)/revenge/

uninstall:
	for c in $(CMDS); do rm -f $(DESTDIR)$(BINDIR)/$$c $(DESTDIR)$(MANDIR)/man1/$$c.1 \
		$(DESTDIR)$(BASH_COMPDIR)/$$c $(DESTDIR)$(ZSH_COMPDIR)/_$$c \
		$(DESTDIR)$(FISH_COMPDIR)/$$c.fish; done
	rm -rf $(DESTDIR)$(INCDIR)/revenge
	rm -f $(DESTDIR)$(LIBDIR)/librevenge.* $(DESTDIR)$(LIBDIR)/pkgconfig/revenge.pc
	rm -f $(DESTDIR)$(SYSTEMD_UNITDIR)/revenge-server.service
	@# the configuration only while it is still the example
	if cmp -s docs/examples/revenge-server.conf $(DESTDIR)$(SYSCONFDIR)/revenge/revenge-server.conf; then \
		rm -f $(DESTDIR)$(SYSCONFDIR)/revenge/revenge-server.conf; fi

# make dist: revenge-VERSION.tar.gz of the files git tracks at HEAD.
dist:
	git archive --format=tar.gz --prefix=revenge-$(VERSION)/ -o revenge-$(VERSION).tar.gz HEAD
	@echo "revenge-$(VERSION).tar.gz"

# lode -- plain Makefile.  `make` builds ./lode and build/liblode.a;
# `make test` installs missing packages, then runs every test twice: as built
# and under AddressSanitizer + UndefinedBehaviorSanitizer.
.DELETE_ON_ERROR:
.SUFFIXES:

CC ?= cc
PREFIX ?= /usr/local
SANITIZE ?=

STD_FLAGS = -std=c11 -D_DEFAULT_SOURCE -D_FILE_OFFSET_BITS=64
WARN_FLAGS = -Wall -Wextra -Wpedantic -Wshadow -Wstrict-prototypes \
	-Wmissing-prototypes -Wold-style-definition -Wwrite-strings \
	-Wpointer-arith -Wvla -Wformat=2
OPT_FLAGS = -O2 -g
INC_FLAGS = -Iinclude -Icommon -Iindexer -Isearcher -Ibench
ifneq ($(SANITIZE),)
SAN_FLAGS = -fsanitize=$(SANITIZE) -fno-omit-frame-pointer -fno-sanitize-recover=all
BUILD ?= build/san
else
BUILD ?= build
# ./lode is optimised across modules (the hot loops call the codec, the
# tokenizer and the sample from other files): 5 % fewer instructions to
# index Reuters, 1-2 % to answer its queries.  The objects keep ordinary
# code too (fat), which the tests and fuzz replays link as before; sanitized
# builds stay without, to build quickly.
LTO_FLAGS = -flto=auto -ffat-lto-objects
LTO_LINK = -flto=auto
endif
ALL_CFLAGS = $(STD_FLAGS) $(WARN_FLAGS) $(OPT_FLAGS) $(LTO_FLAGS) $(SAN_FLAGS) $(INC_FLAGS) $(CFLAGS)
ALL_LDFLAGS = $(SAN_FLAGS) $(LDFLAGS)
LIBS = -lutf8proc -lstemmer -lzstd -ldeflate -lm -lpthread

# Debian packages needed to build and test.
DEB_PKGS = libzstd-dev libdeflate-dev libutf8proc-dev libstemmer-dev libcmocka-dev \
	python3

LIB_SRC = $(wildcard common/*.c indexer/*.c searcher/*.c bench/*.c)
CLI_SRC = $(wildcard cli/*.c)
TEST_SRC = $(wildcard tests/test_*.c)
LIB_OBJ = $(LIB_SRC:%.c=$(BUILD)/%.o) $(BUILD)/buildinfo.o
CLI_OBJ = $(CLI_SRC:%.c=$(BUILD)/%.o)
TESTS = $(TEST_SRC:tests/%.c=$(BUILD)/tests/%)

GIT_REV := $(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)$(shell git diff --quiet HEAD -- 2>/dev/null || echo +)

.PHONY: all deps demo test test-valgrind test-large check-run clean install bench bench-peers check-fts5 eval bench-scale bench-codec FORCE
all: lode

# Replaced by rename, so that a running ./lode never blocks the build.
lode: $(BUILD)/lode
	cp $< $@.tmp && mv -f $@.tmp $@

$(BUILD)/liblode.a: $(LIB_OBJ)
	rm -f $@
	ar rcs $@ $^

$(BUILD)/lode: $(CLI_OBJ) $(BUILD)/liblode.a
	$(CC) $(ALL_LDFLAGS) $(LTO_LINK) -o $@ $(CLI_OBJ) $(BUILD)/liblode.a $(LIBS)

$(BUILD)/tests/%: $(BUILD)/tests/%.o $(BUILD)/tests/support.o $(BUILD)/liblode.a
	$(CC) $(ALL_LDFLAGS) -o $@ $< $(BUILD)/tests/support.o $(BUILD)/liblode.a $(LIBS) -lcmocka

# Build facts for benchmark reports; rewritten only when they change.
$(BUILD)/buildinfo.c: FORCE
	@mkdir -p $(@D)
	@printf '#include "buildinfo.h"\nconst char lode_build_compiler[] = "%s";\nconst char lode_build_flags[] = "%s";\nconst char lode_build_revision[] = "%s";\n' \
		"$$($(CC) --version | head -n 1)" "$(strip $(OPT_FLAGS) $(LTO_FLAGS) $(SAN_FLAGS) $(CFLAGS))" "$(GIT_REV)" > $@.tmp
	@if cmp -s $@.tmp $@; then rm -f $@.tmp; else mv $@.tmp $@; fi

$(BUILD)/buildinfo.o: $(BUILD)/buildinfo.c
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(BUILD)/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -MMD -MP -c -o $@ $<

-include $(LIB_OBJ:.o=.d) $(CLI_OBJ:.o=.d) $(TESTS:=.d) $(BUILD)/tests/support.d

# Install missing Debian packages: with apt-get as root, otherwise say how.
deps:
	@missing=""; for p in $(DEB_PKGS); do \
		dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'ok installed' || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
		if [ "$$(id -u)" = 0 ]; then \
			echo "installing:$$missing"; \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
		else \
			echo "lode needs packages that are missing; run:"; \
			echo "  sudo apt-get install$$missing"; exit 1; \
		fi; \
	fi

# Build, index corpus/ and run a sample search.
demo: deps
	$(MAKE) lode
	./lode index -i .lode corpus/
	./lode search -i .lode '"Supreme National Security Council" AND retaliation'

# The format check (tests/format_check.sh) runs in the plain pass: it reads
# the bytes against FORMAT.md, which the sanitizers have nothing to add to.
check-run: $(BUILD)/lode $(TESTS) $(BUILD)/tests/powerloss.so
	LODE_BIN=$(BUILD)/lode sh tests/run.sh $(TESTS) $(FUZZ_REPLAY) \
		$(if $(SANITIZE),,tests/format_check.sh)

# The power-loss simulator the reliability test preloads into lode; never
# sanitized itself, and built without _FILE_OFFSET_BITS, which would rename
# the open() and open64() it defines onto one symbol.
$(BUILD)/tests/powerloss.so: tests/powerloss.c
	@mkdir -p $(@D)
	$(CC) -std=c11 $(WARN_FLAGS) $(OPT_FLAGS) -fPIC -shared -o $@ $< -ldl

test: deps
	$(MAKE) lode
	$(MAKE) check-run
	$(MAKE) SANITIZE=address,undefined check-run

# The suite once under valgrind: slow, so not part of make test.  The
# reliability test (thousands of builds) and fuzz replays are left out.
VALGRIND_TESTS = $(filter-out %/test_reliability,$(TESTS))
test-valgrind: deps
	@command -v valgrind >/dev/null || { [ "$$(id -u)" = 0 ] && \
		apt-get install -y -qq valgrind; }
	$(MAKE) lode $(VALGRIND_TESTS)
	LODE_BIN=tests/valgrind-lode.sh VALGRIND=1 sh tests/run.sh $(VALGRIND_TESTS)

# One file over 2 GiB indexed, searched and checked (writes ~2.3 GB in
# TMPDIR; about a minute): not part of make test.
test-large: lode
	LODE_BIN=./lode sh tests/large_file.sh

install: lode $(BUILD)/liblode.a
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/lib \
		$(DESTDIR)$(PREFIX)/include $(DESTDIR)$(PREFIX)/share/man/man1
	install -m 755 lode $(DESTDIR)$(PREFIX)/bin/lode
	install -m 644 $(BUILD)/liblode.a $(DESTDIR)$(PREFIX)/lib/liblode.a
	install -m 644 include/lode.h $(DESTDIR)$(PREFIX)/include/lode.h
	install -m 644 lode.1 $(DESTDIR)$(PREFIX)/share/man/man1/lode.1

# Peer engines for side-by-side benchmarks: measuring instruments only,
# never linked into lode.  Their Debian packages are installed here (root).
PEER_PKGS = libsqlite3-dev libxapian-dev g++ python3-xapian liblucene++-dev \
	libboost-dev libboost-filesystem-dev libboost-iostreams-dev \
	libboost-thread-dev libboost-regex-dev libboost-date-time-dev
PEERS = build/peers/fts5_peer build/peers/xapian_peer build/peers/lucene_peer

bench-peers:
	@$(MAKE) --no-print-directory DEB_PKGS="$(PEER_PKGS)" deps
	$(MAKE) $(PEERS)

build/peers/peer.o: bench/peers/peer.c bench/peers/peer.h
	@mkdir -p $(@D)
	$(CC) -O2 -g -Wall -Wextra -c -o $@ $<

build/peers/fts5_peer: bench/peers/fts5_peer.c build/peers/peer.o
	$(CC) -O2 -g -Wall -Wextra -Ibench/peers -o $@ $< build/peers/peer.o -lsqlite3

build/peers/xapian_peer: bench/peers/xapian_peer.cc build/peers/peer.o build/liblode.a
	$(CXX) -O2 -g -Wall -Wextra -Ibench/peers $(INC_FLAGS) -o $@ $< \
		build/peers/peer.o build/liblode.a $(LIBS) -lxapian

build/peers/lucene_peer: bench/peers/lucene_peer.cc build/peers/peer.o build/liblode.a
	$(CXX) -O2 -g -Wall -Wextra -Ibench/peers $(INC_FLAGS) -o $@ $< \
		build/peers/peer.o build/liblode.a $(LIBS) -llucene++

# lode's result sets against SQLite FTS5's on Reuters-21578 (711 queries).
check-fts5: lode
	python3 bench/peers/fts5_compare.py

# Ranking quality on the judged TIME collection, beside FTS5 and Xapian.
eval: lode
	/usr/bin/python3 bench/eval_peers.py

# Cost growth with corpus size, on seeded synthetic corpora (SIZES in MB).
SIZES ?= 100 1000
build/tools/gen_corpus: bench/tools/gen_corpus.c
	@mkdir -p $(@D)
	$(CC) -O2 -Wall -Wextra -o $@ $< -lm

bench-scale: lode build/tools/gen_corpus
	python3 bench/scale.py --sizes $(SIZES)

# Decode speed of the integer codecs against memcpy (bench/tools/codec_speed.c).
build/tools/codec_speed: bench/tools/codec_speed.c $(BUILD)/liblode.a
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -o $@ $< $(BUILD)/liblode.a $(LIBS)

bench-codec: build/tools/codec_speed
	build/tools/codec_speed

# Index the shared corpora and compare lode with the peers that are built.
bench: lode
	python3 bench/run.py

# ---- fuzzing (see fuzz/fuzz.h) ----------------------------------------
# `make fuzz` builds each fuzz/fuzz_<name>.c with libFuzzer, ASan and UBSan
# (clang; the library compiled likewise into build/fuzz/lf/) and runs it for
# FUZZ_SECONDS, crashers into build/fuzz/crashes/<name>/.  The same targets
# linked with fuzz/replay.c are tests: check-run replays fuzz/corpus/ and
# fuzz/regressions/ through them, as built and under SANITIZE.
FUZZ_NAMES = query tokenizer index snippet
FUZZ_SECONDS ?= 60
FUZZ_CC ?= clang
FUZZ_PKGS = clang libclang-rt-dev
FUZZ_SAN = -fsanitize=address,undefined -fno-sanitize-recover=all \
	-fno-omit-frame-pointer
FUZZ_CFLAGS = $(STD_FLAGS) $(WARN_FLAGS) -O1 -g $(FUZZ_SAN) $(INC_FLAGS) -Itests
FUZZ_LIB_OBJ = $(patsubst %.c,build/fuzz/lf/%.o,$(wildcard common/*.c \
	indexer/*.c searcher/*.c) tests/support.c)
FUZZ_BINS = $(FUZZ_NAMES:%=build/fuzz/lf/fuzz_%)
FUZZ_REPLAY = $(FUZZ_NAMES:%=$(BUILD)/fuzz/replay_%)
# Index files are read from exact-size heap copies (fuzz/mapcopy.c).
FUZZ_WRAP = -Wl,--wrap=mmap64 -Wl,--wrap=munmap -Wl,--wrap=madvise

.PHONY: fuzz
check-run: $(FUZZ_REPLAY)

$(BUILD)/fuzz/fuzz_%.o: INC_FLAGS += -Itests

$(FUZZ_REPLAY): $(BUILD)/fuzz/replay_%: $(BUILD)/fuzz/fuzz_%.o \
		$(BUILD)/fuzz/replay.o $(BUILD)/fuzz/mapcopy.o \
		$(BUILD)/tests/support.o $(BUILD)/liblode.a
	$(CC) $(ALL_LDFLAGS) $(FUZZ_WRAP) -o $@ $^ $(LIBS)

build/fuzz/lf/%.o: %.c
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -MMD -MP -c -o $@ $<

$(FUZZ_BINS): build/fuzz/lf/fuzz_%: build/fuzz/lf/fuzz/fuzz_%.o \
		build/fuzz/lf/fuzz/mapcopy.o $(FUZZ_LIB_OBJ)
	$(FUZZ_CC) $(FUZZ_SAN) -fsanitize=fuzzer $(FUZZ_WRAP) -o $@ $^ $(LIBS)

-include $(FUZZ_NAMES:%=$(BUILD)/fuzz/fuzz_%.d) $(BUILD)/fuzz/replay.d \
	$(BUILD)/fuzz/mapcopy.d $(FUZZ_LIB_OBJ:.o=.d) \
	$(FUZZ_NAMES:%=build/fuzz/lf/fuzz/fuzz_%.d) build/fuzz/lf/fuzz/mapcopy.d

fuzz:
	@$(MAKE) --no-print-directory DEB_PKGS="$(DEB_PKGS) $(FUZZ_PKGS)" deps
	$(MAKE) $(FUZZ_BINS)
	sh fuzz/run.sh $(FUZZ_SECONDS) $(FUZZ_NAMES)

clean:
	rm -rf build lode .lode

# prvr-tools: one binary per tools/*.c, all linked against libprvr.a built from lib/*.c.
#   make                 build bin/* (target build)
#   make test            unit tests + shell pipe tests, then again under ASan+UBSan, then the
#                        replay of the fuzz regression inputs and a short smoke of each harness
#   make paper           every experiment of the paper (pipelines/*.mk); make demo: the main job
#   make check           the tests once, with the current flags
#   make bench           speed and memory benchmarks (never part of the tests)
#   make fuzz            each libFuzzer harness for FUZZ_SECONDS (tests/fuzz/fuzz.mk)
# Build trees can be kept apart with OUT=dir (objects in dir/obj, binaries in dir/bin).
# Every knob can be overridden on the command line, e.g.
#   make check OUT=build/asan CFLAGS='-O1 -g -fsanitize=address,undefined' LDFLAGS=-fsanitize=address,undefined
CC       = cc
CFLAGS   = -std=c11 -O2 -g -Wall -Wextra -Wshadow -Wno-unused-parameter
CPPFLAGS = -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE -iquote lib $(MSGPACK_CFLAGS) $(BLAS_CFLAGS)
LDFLAGS  =
LDLIBS   = $(MSGPACK_LIBS) $(BLAS_LIBS) -lz -lm -lpthread
MSGPACK_CFLAGS = $(shell pkg-config --cflags msgpack 2>/dev/null)
MSGPACK_LIBS   = $(or $(shell pkg-config --libs msgpack 2>/dev/null),-lmsgpackc)
BLAS_CFLAGS    = $(shell pkg-config --cflags openblas 2>/dev/null)
BLAS_LIBS      = $(or $(shell pkg-config --libs openblas 2>/dev/null),-lopenblas)
HDF5_CFLAGS    = $(shell pkg-config --cflags hdf5 2>/dev/null)
HDF5_LIBS      = $(or $(shell pkg-config --libs hdf5 2>/dev/null),-lhdf5_serial)

OUT     = .
OBJ     = $(OUT)/obj
BINDIR  = $(OUT)/bin
LIBA    = $(OBJ)/libprvr.a

LIBSRC  = $(wildcard lib/*.c)
LIBOBJ  = $(patsubst %.c,$(OBJ)/%.o,$(LIBSRC))
TOOLS   = $(patsubst tools/%.c,%,$(wildcard tools/*.c))
BIN     = $(addprefix $(BINDIR)/,$(TOOLS))
TESTBIN = $(patsubst tests/%.c,$(BINDIR)/%,$(wildcard tests/test_*.c))
BENCHBIN = $(patsubst tests/%.c,$(BINDIR)/%,$(wildcard tests/bench_*.c))

build: $(BIN)

# all builds, as everywhere; the long experiment runs are never a side effect of it
all: build

$(LIBA): $(LIBOBJ)
	$(AR) rcs $@ $^

$(BINDIR)/%: $(OBJ)/tools/%.o $(LIBA)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BINDIR)/test_% $(BINDIR)/bench_%: $(OBJ)/tests/%.o
$(BINDIR)/test_%: $(OBJ)/tests/test_%.o $(LIBA)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)
$(BINDIR)/bench_%: $(OBJ)/tests/bench_%.o $(LIBA)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# the importer alone reads HDF5
$(OBJ)/tools/prvr-import.o: CPPFLAGS += $(HDF5_CFLAGS)
$(BINDIR)/prvr-import: LDLIBS := $(HDF5_LIBS) $(LDLIBS)
$(OBJ)/tests/test_import.o $(OBJ)/tests/bench_import.o: CPPFLAGS += $(HDF5_CFLAGS)
$(BINDIR)/test_import $(BINDIR)/bench_import: LDLIBS := $(HDF5_LIBS) $(LDLIBS)

$(OBJ)/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) -MMD -MP -c -o $@ $<

# one run of every unit test and shell test; prints "N passed, N failed"
check: build $(TESTBIN)
	@BIN=$(BINDIR) PRVR_SANITIZED=$(PRVR_SANITIZED) ASAN_OPTIONS=detect_leaks=0 tests/run.sh $(TESTBIN) $(wildcard tests/test_*.sh)

ASAN = -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined
test:
	$(MAKE) check
	$(MAKE) check OUT=build/asan CFLAGS='$(ASAN) -std=c11 -Wall' LDFLAGS='-fsanitize=address,undefined' \
		PRVR_SANITIZED=1
	$(MAKE) fuzz-check

bench: build $(BENCHBIN)
	@BIN=$(BINDIR) tests/bench.sh

clean:
	rm -rf bin obj build

.PHONY: build all check test bench clean
.SECONDARY:
-include $(wildcard $(OBJ)/lib/*.d $(OBJ)/tools/*.d $(OBJ)/tests/*.d)
-include $(wildcard pipelines/*.mk)
include tests/fuzz/fuzz.mk

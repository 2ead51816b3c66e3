# prvr-tools: one binary per tools/*.c, all linked against libprvr.a built from lib/*.c.
#   make                 build bin/* (target build)
#   make test            unit tests + shell pipe tests, then again under ASan+UBSan, then the
#                        replay of the fuzz regression inputs and a short smoke of each harness
#   make paper           every experiment of the paper (pipelines/*.mk); make demo: the main job
#   make check           the tests once, with the current flags
#   make tsan            the threaded kernels' tests under ThreadSanitizer (part of make test)
#   make bench           speed and memory benchmarks (never part of the tests)
#   make install         tools to $(DESTDIR)$(PREFIX)/bin, man pages to $(DESTDIR)$(MANPREFIX)/man1
#   make fuzz            each libFuzzer harness for FUZZ_SECONDS (tests/fuzz/fuzz.mk)
# Build trees can be kept apart with OUT=dir (objects in dir/obj, tools in dir/bin, test and
# benchmark programs in dir/obj/testbin). HDF5 is needed only by prvr-import: without it (or with
# HAVE_HDF5=no) everything else builds and tests, and make says so in one line. Likewise MPI
# (HAVE_MPI): with mpicc, distill-step also trains data-parallel under mpirun (doc/scale.md).
# Every knob can be overridden on the command line, e.g.
#   make check OUT=build/asan CFLAGS='-O1 -g -fsanitize=address,undefined' LDFLAGS=-fsanitize=address,undefined
CC       = cc
CFLAGS   = -std=c11 -O2 -g -Wall -Wextra -Wshadow -Wno-unused-parameter
CPPFLAGS = -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE -iquote lib $(MSGPACK_CFLAGS) $(BLAS_CFLAGS) $(OPENMP)
LDFLAGS  =
LDLIBS   = $(MSGPACK_LIBS) $(BLAS_LIBS) -lz -lm -lpthread $(OPENMP)
# One pool of threads for our loops and BLAS (lib/threads.h, doc/performance.md): OpenMP here
# and Debian's OpenMP build of OpenBLAS, linked by path with an rpath, because the default
# libopenblas.so.0 of a machine may be the pthreads build. OPENMP is in CPPFLAGS and LDLIBS so
# that builds which override CFLAGS/LDFLAGS (make test's sanitizers) keep it; OPENMP= builds
# serial loops.
OPENMP   = -fopenmp
MULTIARCH := $(shell gcc -print-multiarch 2>/dev/null || echo x86_64-linux-gnu)
BLAS_DIR  = /usr/lib/$(MULTIARCH)/openblas-openmp
# msgpack-c 6 is msgpack-c.pc / -lmsgpack-c; older releases msgpack.pc / -lmsgpackc
MSGPACK_PC    := $(firstword $(foreach p,msgpack-c msgpack,$(shell pkg-config --exists $(p) 2>/dev/null && echo $(p))))
MSGPACK_CFLAGS := $(if $(MSGPACK_PC),$(shell pkg-config --cflags $(MSGPACK_PC)))
MSGPACK_LIBS   := $(if $(MSGPACK_PC),$(shell pkg-config --libs $(MSGPACK_PC)),-lmsgpackc)
BLAS_CFLAGS    = -I/usr/include/$(MULTIARCH)/openblas-openmp
BLAS_LIBS      = -L$(BLAS_DIR) -Wl,-rpath,$(BLAS_DIR) -lopenblas
HDF5_CFLAGS    := $(shell pkg-config --cflags hdf5 2>/dev/null)
HDF5_LIBS      := $(or $(shell pkg-config --libs hdf5 2>/dev/null),-lhdf5_serial)
# yes when a program using HDF5 compiles and links here
HAVE_HDF5 ?= $(shell printf '\043include <hdf5.h>\nint main(void) { return H5open(); }\n' | \
	$(CC) $(HDF5_CFLAGS) -x c -o /dev/null - $(HDF5_LIBS) 2>/dev/null && echo yes)
ifneq ($(HAVE_HDF5),yes)
HAVE_HDF5 := no
NOHDF5    := prvr-import test_import test_h5 bench_import
$(info prvr-tools: HDF5 not found (pkg-config hdf5 / hdf5.h): building and testing everything but prvr-import)
endif

# the version every tool prints for --version: git describe, or VERSION when not in a git tree
VERSION := $(or $(shell git describe --tags --always --dirty 2>/dev/null),0.1)
PREFIX    = /usr/local
MANPREFIX = $(PREFIX)/share/man

OUT     = .
OBJ     = $(OUT)/obj
BINDIR  = $(OUT)/bin
TBINDIR = $(OBJ)/testbin
LIBA    = $(OBJ)/libprvr.a

# lib/h5.c (HDF5) is linked into its users alone, so that libprvr.a needs no HDF5
LIBSRC  = $(filter-out lib/h5.c,$(wildcard lib/*.c))
LIBOBJ  = $(patsubst %.c,$(OBJ)/%.o,$(LIBSRC))
TOOLS   = $(filter-out $(NOHDF5),$(patsubst tools/%.c,%,$(wildcard tools/*.c)))
BIN     = $(addprefix $(BINDIR)/,$(TOOLS))
TESTBIN = $(filter-out $(addprefix %/,$(NOHDF5)),$(patsubst tests/%.c,$(TBINDIR)/%,$(wildcard tests/test_*.c)))
BENCHBIN = $(filter-out $(addprefix %/,$(NOHDF5)),$(patsubst tests/%.c,$(TBINDIR)/%,$(wildcard tests/bench_*.c)))
include search.mk

# Open MPI's wrapper compiler names its flags (--showme; MPICH's mpicc has -compile_info and
# -link_info instead). Only mpi/comm_mpi.c includes mpi.h, and only distill-step links it.
MPI_CFLAGS := $(shell mpicc --showme:compile 2>/dev/null)
MPI_LIBS   := $(shell mpicc --showme:link 2>/dev/null)
HAVE_MPI   ?= $(if $(MPI_LIBS),yes,no)
ifeq ($(HAVE_MPI),yes)
$(OBJ)/tools/distill-step.o: CPPFLAGS += -DHAVE_MPI
$(OBJ)/mpi/comm_mpi.o: CPPFLAGS += $(MPI_CFLAGS)
# comm_mpi.o before the library, which it calls into
$(BINDIR)/distill-step: $(OBJ)/tools/distill-step.o $(OBJ)/mpi/comm_mpi.o $(LIBA)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)
$(BINDIR)/distill-step: LDLIBS := $(MPI_LIBS) $(LDLIBS)
# make bench: the data-parallel step under mpirun (tests/bench_mpi.sh)
BENCHBIN += $(TBINDIR)/bench_mpi
$(OBJ)/mpi/bench_mpi.o: CPPFLAGS += $(MPI_CFLAGS) -iquote tests
$(TBINDIR)/bench_mpi: $(OBJ)/mpi/bench_mpi.o $(OBJ)/tests/stepshape.o $(OBJ)/mpi/comm_mpi.o $(LIBA)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS) $(MPI_LIBS)
else
$(info prvr-tools: no MPI (mpicc not found, or HAVE_MPI=no): distill-step trains in one process, no MPI tests)
endif

build: $(BIN)

# all builds, as everywhere; the long experiment runs are never a side effect of it
all: build

$(LIBA): $(LIBOBJ)
	rm -f $@
	$(AR) rcs $@ $^

$(BINDIR)/%: $(OBJ)/tools/%.o $(LIBA)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# what the test and benchmark programs share (never in a tool): tests/gradcheck.c, the
# finite-difference checks; tests/dies.c, a refusal checked in a child; tests/mdtable.c, the keys
# a schemas/ page lists; tests/stepshape.c, the training step bench_step (and mpi/bench_mpi) time
TESTLIB = $(OBJ)/tests/gradcheck.o $(OBJ)/tests/dies.o $(OBJ)/tests/mdtable.o $(OBJ)/tests/stepshape.o
$(TBINDIR)/%: $(OBJ)/tests/%.o $(TESTLIB) $(LIBA)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# the importer alone reads HDF5, through lib/h5.c
$(OBJ)/lib/h5.o $(OBJ)/tools/prvr-import.o $(OBJ)/tests/test_h5.o: CPPFLAGS += $(HDF5_CFLAGS)
$(BINDIR)/prvr-import $(TBINDIR)/test_h5: LDLIBS := $(HDF5_LIBS) $(LDLIBS)
$(BINDIR)/prvr-import: $(OBJ)/tools/prvr-import.o $(OBJ)/lib/h5.o $(LIBA)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)
$(TBINDIR)/test_h5: $(OBJ)/tests/test_h5.o $(OBJ)/lib/h5.o $(TESTLIB) $(LIBA)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)
$(OBJ)/tests/test_import.o $(OBJ)/tests/bench_import.o: CPPFLAGS += $(HDF5_CFLAGS)
$(TBINDIR)/test_import $(TBINDIR)/bench_import: LDLIBS := $(HDF5_LIBS) $(LDLIBS)

# one place for the version; util.o is rebuilt when it changes (the stamp is rewritten while
# the Makefile is read: every target is .SECONDARY, so a rule would not be run for it)
$(OBJ)/lib/util.o: CPPFLAGS += -DPRVR_VERSION='"$(VERSION)"'
$(OBJ)/lib/util.o: $(OBJ)/version.txt
$(shell mkdir -p $(OBJ) && echo '$(VERSION)' | cmp -s - $(OBJ)/version.txt || \
	echo '$(VERSION)' > $(OBJ)/version.txt)

$(OBJ)/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) -MMD -MP -c -o $@ $<

# one run of every unit test and shell test; prints "N passed, N failed"
check: build $(TESTBIN)
	@BIN=$(BINDIR) TBIN=$(TBINDIR) PRVR_SANITIZED=$(PRVR_SANITIZED) HAVE_MPI=$(HAVE_MPI) \
		ASAN_OPTIONS=detect_leaks=0 tests/run.sh $(TESTBIN) $(wildcard tests/test_*.sh)

ASAN = -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined
test:
	$(MAKE) check
	$(MAKE) check OUT=build/asan CFLAGS='$(ASAN) -std=c11 -Wall' LDFLAGS='-fsanitize=address,undefined' \
		PRVR_SANITIZED=1
	$(MAKE) tsan
	$(MAKE) fuzz-check

# the threaded loops under ThreadSanitizer: clang with LLVM's OpenMP runtime and its Archer tool,
# which tells TSan about OpenMP's barriers (GCC's libgomp does not, so TSan would report every
# parallel region); OpenBLAS keeps its own, uninstrumented libgomp and is ignored
LLVM      = /usr/lib/llvm-14
TSANTESTS = $(addprefix build/tsan/obj/testbin/,test_kernels test_layers test_model test_adam test_reduce test_score)
tsan:
	$(MAKE) OUT=build/tsan CC=clang-14 OPENMP=-fopenmp=libomp CFLAGS='-O1 -g -fsanitize=thread -std=c11' \
		LDFLAGS='-fsanitize=thread -L$(LLVM)/lib -Wl,-rpath,$(LLVM)/lib' $(TSANTESTS)
	@TSAN_OPTIONS='ignore_noninstrumented_modules=1' OMP_TOOL_LIBRARIES=$(LLVM)/lib/libarcher.so \
		OMP_WAIT_POLICY=passive tests/run.sh $(TSANTESTS)

bench: build $(BENCHBIN)
	@BIN=$(BINDIR) TBIN=$(TBINDIR) tests/bench.sh

install: build
	mkdir -p $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(MANPREFIX)/man1
	cp -f $(BIN) $(DESTDIR)$(PREFIX)/bin/
	cd $(DESTDIR)$(PREFIX)/bin && chmod 755 $(TOOLS)
	cp -f $(addprefix man/,$(addsuffix .1,$(TOOLS))) $(DESTDIR)$(MANPREFIX)/man1/
	cd $(DESTDIR)$(MANPREFIX)/man1 && chmod 644 $(addsuffix .1,$(TOOLS))

uninstall:
	cd $(DESTDIR)$(PREFIX)/bin && rm -f $(TOOLS)
	cd $(DESTDIR)$(MANPREFIX)/man1 && rm -f $(addsuffix .1,$(TOOLS))

clean:
	rm -rf bin obj build

.PHONY: build all check test tsan bench install uninstall clean
# a failed recipe leaves no target behind: no half-linked tool, no half-written results file
.DELETE_ON_ERROR:
.SECONDARY:
-include $(wildcard $(OBJ)/lib/*.d $(OBJ)/tools/*.d $(OBJ)/tests/*.d $(OBJ)/mpi/*.d)
-include $(wildcard pipelines/*.mk)
include tests/fuzz/fuzz.mk

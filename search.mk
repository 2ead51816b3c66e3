# search.mk: the FAISS-backed tools (prvr-index, prvr-search; issue 13), included by the Makefile.
# They are C over lib/faissw.cpp, the one C++ file, and link with $(CXX) against Debian's static
# libfaiss.a, which needs OpenMP (libgomp) and BLAS. Without FAISS's headers they are left out,
# with one line saying so, and their tests skip.
CXX      = g++
CXXFLAGS = -std=c++17 -O2 -g -Wall -Wextra -Wno-unused-parameter
FAISS_LIBS = -lfaiss -fopenmp
FAISS_TOOLS = prvr-index prvr-search
# yes when FAISS's headers are found (HAVE_FAISS=no leaves the tools out)
HAVE_FAISS ?= $(shell echo '\#include <faiss/IndexIVFPQ.h>' | $(CXX) -E -x c++ - >/dev/null 2>&1 && echo yes)

# included before the Makefile's first rule (BIN must be final there), so keep its goal
.DEFAULT_GOAL := build

ifeq ($(HAVE_FAISS),yes)
$(addprefix $(BINDIR)/,$(FAISS_TOOLS)): $(BINDIR)/%: $(OBJ)/tools/%.o $(OBJ)/lib/faissw.o $(LIBA)
	@mkdir -p $(@D)
	$(CXX) $(LDFLAGS) -o $@ $^ $(FAISS_LIBS) $(LDLIBS)
# prvr-search re-scores candidates of several queries at once (OpenMP, as FAISS)
$(OBJ)/tools/prvr-search.o: CFLAGS += -fopenmp
# tests/test_pqenc.c holds lib/pqenc.c to FAISS's own encoding, tests/bench_pqenc.c times both
$(TBINDIR)/test_pqenc $(TBINDIR)/bench_pqenc: $(TBINDIR)/%: $(OBJ)/tests/%.o $(OBJ)/lib/faissw.o $(LIBA)
	@mkdir -p $(@D)
	$(CXX) $(LDFLAGS) -o $@ $^ $(FAISS_LIBS) $(LDLIBS)
$(OBJ)/lib/%.o: lib/%.cpp
	@mkdir -p $(@D)
	$(CXX) $(CPPFLAGS) $(CXXFLAGS) -MMD -MP -c -o $@ $<
else
TOOLS := $(filter-out $(FAISS_TOOLS),$(TOOLS))
TESTBIN := $(filter-out %/test_pqenc,$(TESTBIN))
BENCHBIN := $(filter-out %/bench_pqenc,$(BENCHBIN))
$(info prvr-tools: FAISS not found (faiss/IndexIVFPQ.h; Debian: libfaiss-dev): building and testing everything but prvr-index and prvr-search)
endif

# the search benchmark (tests/bench_search.sh; never part of the tests): NV=100000 by default
bench-search: build
	@BIN=$(BINDIR) tests/bench_search.sh
.PHONY: bench-search

# lib/vindex.c's integer kernel is a plain reduction, lib/sq8nib.c's joining of nibble planes
# plain byte loops: vectorised only with the dynamic cost model (-O2's default model leaves
# loops of unknown length scalar). Float loops are not reassociated by it, so no float result
# changes.
$(OBJ)/lib/vindex.o $(OBJ)/lib/sq8nib.o: CFLAGS += -ftree-loop-vectorize -fvect-cost-model=dynamic

# Fuzzing (tests/fuzz/README.md), included by the Makefile. The harnesses are built with clang,
# libFuzzer, ASan and UBSan in a tree of their own (FUZZ_OUT); the seeds are made by the tools.
#   make fuzz FUZZ_SECONDS=N   each harness for N seconds, one after the other; its corpus grows
#                              in FUZZ_OUT/corpus/NAME, what it finds lands in FUZZ_OUT/found/NAME
#   make fuzz FUZZ_CPU_SECONDS=N   each until it has received N seconds of CPU (a shared machine)
#   make fuzz FUZZ_TIMEOUT=N   an input running N wall seconds is a finding (default 10)
#   make fuzz-check            replay of tests/fuzz/regress/ and a smoke of FUZZ_SMOKE seconds per
#                              harness; the last step of make test
FUZZ_CC      = clang
FUZZ_OUT     = build/fuzz
FUZZ_SECONDS = 300
FUZZ_CPU_SECONDS =
FUZZ_TIMEOUT = 10
FUZZ_SMOKE   = 4
FUZZ_SAN     = -fsanitize=address,undefined -fno-sanitize-recover=undefined
# FUZZING_BUILD_MODE_...: a failed CHECK aborts (lib/util.h)
FUZZ_CFLAGS  = -std=c11 -g -O1 -fno-omit-frame-pointer -Wall $(FUZZ_SAN) -fsanitize=fuzzer-no-link \
               -DFUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION
# what a run that died leaves open is released by tests/fuzz/fuzz.c, which sees these calls;
# exit inside a run (usage errors, --help) returns to the harness as die does
FUZZ_WRAP    = -Wl,--wrap=fopen,--wrap=fdopen,--wrap=fclose,--wrap=mmap,--wrap=munmap,--wrap=exit
# h5import compiles tools/prvr-import.c in, which needs HDF5; vindex links lib/faissw.cpp, which
# needs FAISS (search.mk)
FUZZ_NAMES   = $(filter-out $(if $(filter no,$(HAVE_HDF5)),h5import) \
                 $(if $(filter yes,$(HAVE_FAISS)),,vindex),\
                 $(patsubst tests/fuzz/fuzz_%.c,%,$(wildcard tests/fuzz/fuzz_*.c)))
FUZZ_BIN     = $(addprefix $(FUZZ_OUT)/bin/fuzz_,$(FUZZ_NAMES))
FUZZ_LIBA    = $(FUZZ_OUT)/obj/libprvr.a

# lib/h5.c, kept out of libprvr.a (Makefile), is in the harnesses' archive when HDF5 is here:
# a harness that compiles prvr-import in takes it from there
$(FUZZ_LIBA): $(patsubst %.c,$(FUZZ_OUT)/obj/%.o,$(LIBSRC) $(if $(filter yes,$(HAVE_HDF5)),lib/h5.c))
	$(AR) rcs $@ $^

$(FUZZ_OUT)/obj/%.o: %.c
	@mkdir -p $(@D)
	$(FUZZ_CC) $(CPPFLAGS) $(HDF5_CFLAGS) $(FUZZ_CFLAGS) -MMD -MP -c -o $@ $<

$(FUZZ_OUT)/obj/lib/%.o: lib/%.cpp
	@mkdir -p $(@D)
	$(FUZZ_CC)++ $(CPPFLAGS) -std=c++17 $(filter-out -std=c11,$(FUZZ_CFLAGS)) -MMD -MP -c -o $@ $<

# a tool's main becomes NAME_main (feat-reduce: feat_reduce_main) for the harness to call
$(FUZZ_OUT)/obj/tools/%.o: tools/%.c
	@mkdir -p $(@D)
	$(FUZZ_CC) $(CPPFLAGS) $(HDF5_CFLAGS) $(FUZZ_CFLAGS) -Dmain=$(subst -,_,$*)_main -MMD -MP -c -o $@ $<

# fuzz_NAME links tools/NAME.c ('_' for '-') when there is one
define FUZZ_LINK
$(FUZZ_OUT)/bin/fuzz_$(1): $(FUZZ_OUT)/obj/tests/fuzz/fuzz_$(1).o $(FUZZ_OUT)/obj/tests/fuzz/fuzz.o \
  $(patsubst %.c,$(FUZZ_OUT)/obj/%.o,$(wildcard tools/$(subst _,-,$(1)).c)) $(FUZZ_LIBA)
	@mkdir -p $$(@D)
	$$(FUZZ_LD) $(FUZZ_SAN) -fsanitize=fuzzer $(FUZZ_WRAP) -o $$@ $$^ $(HDF5_LIBS) $$(FUZZ_XLIBS) $(LDLIBS)
endef
$(foreach h,$(FUZZ_NAMES),$(eval $(call FUZZ_LINK,$(h))))
FUZZ_LD = $(FUZZ_CC)
$(FUZZ_OUT)/bin/fuzz_vindex: $(FUZZ_OUT)/obj/lib/faissw.o
$(FUZZ_OUT)/bin/fuzz_vindex: FUZZ_LD = $(FUZZ_CC)++
$(FUZZ_OUT)/bin/fuzz_vindex: FUZZ_XLIBS = $(FAISS_LIBS)

fuzz-build: $(FUZZ_BIN)

fuzz: build fuzz-build
	@BIN=$(BINDIR) FUZZ_OUT=$(FUZZ_OUT) FUZZ_CPU_SECONDS=$(FUZZ_CPU_SECONDS) \
		FUZZ_TIMEOUT=$(FUZZ_TIMEOUT) tests/fuzz/run.sh fuzz $(FUZZ_SECONDS) $(FUZZ_NAMES)

fuzz-check: build fuzz-build
	@BIN=$(BINDIR) FUZZ_OUT=$(FUZZ_OUT) tests/fuzz/run.sh check $(FUZZ_SMOKE) $(FUZZ_NAMES)

.PHONY: fuzz fuzz-build fuzz-check
-include $(wildcard $(FUZZ_OUT)/obj/lib/*.d $(FUZZ_OUT)/obj/tools/*.d $(FUZZ_OUT)/obj/tests/fuzz/*.d)

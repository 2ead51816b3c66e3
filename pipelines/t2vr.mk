# pipelines/t2vr.mk: supplementary Table 1 — dynamic distillation on traditional text-to-video
# retrieval of pre-trimmed clips (MSR-VTT), with Dual Encoding as the student (de-train).
# Included by the top Makefile after experiments.mk, whose names and conventions it uses: the
# corpus (prvr-synth -p msrvtt[-SCALE], or DATA=DIR with DATASET=msrvtt), the reduced streams,
# the zero-shot teacher row, results/t2vr/msrvtt-<scale>/t2vr.{md,tsv} with the paper's numbers
# beside the measured ones.
#
#   make t2vr    Dual Encoding with no / fixed / dynamic (exponential, k 0.95) distillation on
#                msrvtt-$(SCALE), and the zero-shot teacher; mean ± sd over SEEDS, every row
#                with its paired SumR difference to dynamic distillation (metrics --compare)
#
# Knobs: SCALE, SEEDS, EPOCHS (default per scale below, not experiments.mk's), PATIENCE, JOBS,
# DSEED, DATA, SYNTH_OPTS, RESULTS, DATADIR, MODELS as experiments.mk (the corpus is the one
# experiments.mk makes: at SCALE=small its features are 256/128-d); T2VR_OPTS: de-train options
# of every run of this scale (model size, batch, learning rate), DE_TRAIN_OPTS: extra options.
# Like experiments.mk's TRAIN_OPTS they are not part of a run directory's name
# (de-KD-sSEED-eEPOCHS) but the runs are redone when they change (de-opts.txt), and the table
# records them.
# Each run: de-train (training videos with all their captions, validation every epoch, the best
# epoch's weights score the test split) -> scores.mp -> metrics -> test.tsv; log.mp, curves.tsv.
# Not here: the PRVR experiments (experiments.mk), building the tools (the top Makefile).

T2VR_DS = msrvtt
T2VR_KDS = none fixed dynamic

# (small: 40 with patience 10, as experiments.mk's small; at 8, every run was still gaining 3-4
# validation SumR an epoch at its last)
T2VR_EPOCHS_tiny  = 10
T2VR_EPOCHS_small = 40
T2VR_EPOCHS_full  = 50
T2VR_EPOCHS = $(if $(call given,EPOCHS),$(EPOCHS),$(T2VR_EPOCHS_$(SCALE)))

# model size and optimisation per scale: tiny and small are reduced so that a run takes seconds
# (tiny) or minutes (small: 7-14 s per epoch on two shared cores) on two cores; full is
# the original's size (de-train's defaults) and learning rate
T2VR_OPTS_tiny  = --hidden 32 --filters 32 --dim 64 --batch 16 --lr 1e-3
T2VR_OPTS_small = --hidden 128 --filters 128 --dim 256 --batch 128 --lr 1e-3
T2VR_OPTS_full  = --hidden 512 --filters 512 --dim 1024 --batch 128 --lr 1e-4
T2VR_OPTS ?= $(T2VR_OPTS_$(SCALE))
DE_TRAIN_OPTS ?=

T_de-train = $(BINDIR)/de-train
T_prvr-synth ?= $(BINDIR)/prvr-synth
T_feat-reduce ?= $(BINDIR)/feat-reduce
T_teacher-sim ?= $(BINDIR)/teacher-sim
T_metrics ?= $(BINDIR)/metrics
T_prvr-cat ?= $(BINDIR)/prvr-cat

# imported features must be MSR-VTT's; without DATA the synthetic msrvtt preset is used
T2VR_OK = $(if $(DATA),$(filter msrvtt,$(DATASET)),yes)

ifneq ($(T2VR_OK),)

# the corpus and reduced-stream rules of experiments.mk, unless it already made them for msrvtt
ifeq ($(filter msrvtt,$(DATASETS)),)
$(eval $(call DATASET_rules,msrvtt))
endif

T2VR_S = $(call streams,msrvtt)
T2VR_RDIR = $(call rdir,t2vr,msrvtt)
# run directory of distillation mode $(1), seed $(2)
t2vr_mdir = $(MODELS)/$(call ckey,msrvtt)/de-$(1)-s$(2)-e$(T2VR_EPOCHS)
# a row's test scores for seed $(3), for experiments.mk's compare: $(1) dataset, $(2) mode
t2vr_scores = $(if $(filter teacher,$(2)),$(call streams,$(1))/teacher-scores.mp,$(call t2vr_mdir,$(2),$(3))/scores.mp)
# the table's rows (row:mode) and the reference the others are compared with per seed
T2VR_ROWS = teacher:teacher $(foreach k,$(T2VR_KDS),de-$(k):$(k))
REF_t2vr  = de-dynamic:dynamic

# the de-train options of the runs, rewritten only when they change
$(MODELS)/$(call ckey,msrvtt)/de-opts.txt: FORCE
	@mkdir -p $(@D)
	@echo '$(T2VR_OPTS) $(DE_TRAIN_OPTS)' > $@.tmp
	@if cmp -s $@.tmp $@; then rm $@.tmp; else mv $@.tmp $@; fi

# the run of distillation mode $(1), seed $(2)
define T2VR_run
$(call t2vr_mdir,$(1),$(2))/scores.mp: $(T_de-train) $(MODELS)/$(call ckey,msrvtt)/de-opts.txt \
		$(addprefix $(T2VR_S)/,train-video-student.mp train-query-student.mp \
		val-video-student.mp val-query-student.mp test-video-student.mp test-query-student.mp) \
		$(if $(filter none,$(1)),,$(T2VR_S)/train-video-teacher.mp $(T2VR_S)/train-query-teacher.mp)
	@mkdir -p $$(@D)
	@echo "train de-train $(call ckey,msrvtt) kd $(1) seed $(2) ($(T2VR_EPOCHS) epochs at most)" >&2
	SECONDS=0; $$(RUN_TRAIN) $(T_de-train) \
		-v $(T2VR_S)/train-video-student.mp -q $(T2VR_S)/train-query-student.mp \
		$(if $(filter none,$(1)),,--teacher-video $(T2VR_S)/train-video-teacher.mp \
		--teacher-query $(T2VR_S)/train-query-teacher.mp) \
		--val-video $(T2VR_S)/val-video-student.mp --val-query $(T2VR_S)/val-query-student.mp \
		--test-video $(T2VR_S)/test-video-student.mp --test-query $(T2VR_S)/test-query-student.mp \
		--kd $(1) --epochs $(T2VR_EPOCHS) --patience $(PATIENCE) --seed $(2) -j $(JOBS) \
		$(T2VR_OPTS) $(DE_TRAIN_OPTS) -l $$(@D)/log.mp.tmp -o $$@ 2> $$(@D)/train.err || \
		{ tail -n 20 $$(@D)/train.err >&2; rm -f $$(@D)/log.mp.tmp; exit 1; }; \
	echo "trained $(call ckey,msrvtt) kd $(1) seed $(2) in $$$${SECONDS}s" >&2
	mv $$(@D)/log.mp.tmp $$(@D)/log.mp

$(call t2vr_mdir,$(1),$(2))/log.mp: $(call t2vr_mdir,$(1),$(2))/scores.mp

$(call t2vr_mdir,$(1),$(2))/curves.tsv: $(call t2vr_mdir,$(1),$(2))/log.mp $(T_prvr-cat) $(P)/curves.awk
	$(T_prvr-cat) < $$< | awk -f $(P)/curves.awk > $$@.tmp
	mv $$@.tmp $$@

# metrics of the test scores, with the best epoch, epochs run and training seconds
$(call t2vr_mdir,$(1),$(2))/test.tsv: $(call t2vr_mdir,$(1),$(2))/scores.mp \
		$(call t2vr_mdir,$(1),$(2))/curves.tsv $(T_metrics) $(P)/metrics.awk
	$(T_metrics) -q -f tsv -i $$< | awk -f $(P)/metrics.awk -v curves=$$(word 2,$$^) > $$@.tmp
	mv $$@.tmp $$@
endef

$(foreach k,$(T2VR_KDS),$(foreach s,$(SEEDS),$(eval $(call T2VR_run,$(k),$(s)))))

# the test.tsv of mode $(1)'s runs over SEEDS
t2vr_runs = $(foreach s,$(SEEDS),$(call t2vr_mdir,$(1),$(s))/test.tsv)

$(T2VR_RDIR)/knobs.txt: FORCE
	@mkdir -p $(@D)
	@echo 'SEEDS=$(SEEDS) EPOCHS=$(T2VR_EPOCHS) PATIENCE=$(PATIENCE) DATA=$(DATA) DSEED=$(DSEED) SYNTH_OPTS=$(SYNTH_OPTS) T2VR_OPTS=$(T2VR_OPTS) DE_TRAIN_OPTS=$(DE_TRAIN_OPTS) RESAMPLES=$(RESAMPLES)' > $@.tmp
	@if cmp -s $@.tmp $@; then rm $@.tmp; else mv $@.tmp $@; fi

# seconds per epoch of a mode's runs: their training seconds / their epochs (metrics.awk's columns)
t2vr_secs = awk -F'\t' 'FNR == 1 { for (i = 1; i <= NF; i++) c[$$i] = i; next } \
	{ t += $$c["train_seconds"]; e += $$c["epochs"] } END { printf "%.1f", t / e }'

# the table (in an eval, as experiments.mk's tables, whose compare it uses)
define T2VR_table
$(T2VR_RDIR)/t2vr.tsv $(T2VR_RDIR)/t2vr.md &: $(T2VR_RDIR)/knobs.txt $(T2VR_S)/teacher-test.tsv \
		$(T2VR_S)/teacher-scores.mp $(foreach k,$(T2VR_KDS),$(call t2vr_runs,$(k))) $(T_metrics) \
		$(P)/rows.awk $(P)/table.sh $(P)/meta.sh $(P)/paper/t2vr.tsv
	rm -f $$(@D)/rows.tmp $$(@D)/diffs.tmp
	awk -v dataset=msrvtt -v row=teacher -f $(P)/rows.awk $(T2VR_S)/teacher-test.tsv > $$(@D)/rows.tmp
	$(foreach k,$(T2VR_KDS),awk -v dataset=msrvtt -v row=de-$(k) -f $(P)/rows.awk \
		$(call t2vr_runs,$(k)) >> $$(@D)/rows.tmp;)
	$(call compare,msrvtt,$(T2VR_ROWS),$(REF_t2vr),$$(@D)/diffs.tmp,t2vr_scores)
	{ $(P)/meta.sh t2vr msrvtt '$(call datadesc,msrvtt)' '$(SEEDS)' \
		'at most $(T2VR_EPOCHS) (patience $(PATIENCE)); test scored with the best epoch by validation SumR' \
		'$(call command,t2vr,$(if $(DATA),msrvtt),$(SEEDS),$(call given_knobs,T2VR_OPTS DE_TRAIN_OPTS))'; \
	  echo 'student: Dual Encoding (de-train $(strip $(T2VR_OPTS) $(DE_TRAIN_OPTS))), every caption once per epoch; dynamic = exponential decay k 0.95, lambda 0.1'; \
	  printf 'seconds per epoch (mean over seeds):'; \
	  $(foreach k,$(T2VR_KDS),printf ' %s %s' $(k) "$$$$($$(t2vr_secs) $(call t2vr_runs,$(k)))";) echo; \
	} > $$(@D)/meta.tmp
	$(P)/table.sh -r $$(@D)/rows.tmp -d $$(@D)/diffs.tmp -p $(P)/paper/t2vr.tsv -m $$(@D)/meta.tmp \
		-t "Dynamic distillation on traditional text-to-video retrieval (supp. Table 1), $(call rtag,msrvtt)" \
		-o $$(@D)/t2vr
	rm -f $$(@D)/rows.tmp $$(@D)/diffs.tmp $$(@D)/meta.tmp
endef
$(eval $(call T2VR_table))

# the outputs; make publish copies them too
OUT_t2vr = t2vr.md t2vr.tsv
PUBLISHED_MORE += t2vr/$(T2VR_DS)

t2vr: $(addprefix $(T2VR_RDIR)/,$(OUT_t2vr))

else
t2vr:
	@echo "t2vr: DATA=$(DATA) needs DATASET=msrvtt (imported MSR-VTT features)" >&2; exit 1
endif

.PHONY: t2vr

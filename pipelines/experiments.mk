# pipelines/experiments.mk: the paper's experiments as make targets (doc/pipelines.md).
# Included by the top Makefile. Each target runs end to end, composing the tools with files and
# pipes: corpus (prvr-synth, or DATA=DIR from prvr-import) -> feat-reduce -> teacher-sim ->
# distill-step (validation, best checkpoint) -> encode-video / encode-text -> rank -> metrics,
# and writes results/<target>/<dataset>-<scale>/: a Markdown table with the paper's numbers beside
# the measured ones, the same as TSV, and a gnuplot figure where one reads better.
#
#   make main        per dataset: teacher alone, exploration only, inheritance only, DL-DKD
#                    (β = 0.3)
#   make kd-kind     supp. Tables 2-3: similarity vs feature distillation x KL vs MSE
#   make beta-sweep  supp. Figure 1: SumR for β = 0.0 .. 1.0 of DL-DKD (re-ranking only)
#   make branches    supp. Figure 2: DL-DKD vs dual-exploration vs dual-inheritance across β
#   make schedule    distillation schedule ablation: none, fixed, linear, exponential, sigmoid
#   (each: mean ± sd over SEEDS; every row but the reference with its paired SumR difference to
#   the reference row, metrics --compare, see doc/pipelines.md)
#   make cost        supp. Table 4: FLOPs per video-text pair (analytic, checked against a
#                    measured count), peak training memory at batch 128, SumR
#   make plusplus    the successor, DL-DKD++ (doc/method.md): DL-DKD and DL-DKD++ with its
#                    release's settings (PP_ROWS adds soft alignment alone), beside the
#                    release's expected numbers (not part of `paper`; default DATASETS: all three)
#   make paper       all of the above;  make demo: DL-DKD on a small TVR-like corpus, table on stdout
#   make publish     copy the tables and figures of RESULTS under examples/results/
#
# Knobs: DATASET=tvr|activitynet|charades (default: DATASETS="tvr activitynet"), or any name
# with DATA, SCALE=tiny|small|full, DATA=DIR (imported features instead of the synthetic corpus;
# needs DATASET), MARGIN (triplet margin; default per dataset, else 0.1), SEED (cost's SumR),
# SEEDS (the other experiments), EPOCHS, PATIENCE, JOBS (threads per heavy tool), DSEED (corpus
# seed), SYNTH_OPTS, TRAIN_OPTS, RESAMPLES (of the paired comparisons), RESULTS, DATADIR.
# LAUNCH=local|slurm (where the heavy steps run), SLURM_MEM, SLURM_MEM_TRAIN, SLURM_OPTS: below.
# Not here: building the tools (the top Makefile; every rule below depends on the binaries).

# ---- knobs -------------------------------------------------------------------------------------

DATASET  ?=
# (make plusplus: all three PRVR sets, as the successor's release)
DATASETS ?= $(if $(DATASET),$(DATASET),tvr activitynet$(if $(filter plusplus,$(MAKECMDGOALS)), charades))
SCALE    ?= small
DATA     ?=
SEED     ?= 1
SEEDS    ?= 1 2 3
DSEED    ?= 1
# the scales: tiny (CI), small (the committed example results), full (the paper's sizes).
# full trains as the paper: up to 100 epochs (the learning rate decays linearly over them),
# stopped after PATIENCE epochs without a better validation SumR. small trains 40: at its batch
# of 32 the students of the calibrated worlds are at >= 90 % of their best by epoch 20 and
# creep on by a few tenths of a percent per epoch to epoch 65-90 of a 100-epoch schedule, which
# would double the cost of every table; doc/synth.md, "Calibration", measures what 40 costs.
# small keeps the -small presets' splits (a tenth of the real videos, real clip and token
# statistics) and trades the feature and model widths (student video/token features 256/128-d
# instead of 3072/768 or 1024/1024; hidden size 128 instead of 384) for time, and the batch:
# 32 videos instead of 128, so that an epoch of a tenth of the videos is 55 steps (TVR-small)
# rather than 14 against the real set's 136 (an epoch-based schedule, early stopping and "best
# by epoch N" then mean what they mean at full size), with the hard-negative pool scaled with it
# (top 5 of 32 = top 20 of 128). doc/synth.md, "Calibration", measures what this changes.
EPOCHS_tiny  = 3
EPOCHS_small = 40
EPOCHS_full  = 100
SYNTH_OPTS_small = --dims 256,128,512
TRAIN_OPTS_small = --hidden 128 --batch 32 --hard-pool 5
EPOCHS   ?= $(EPOCHS_$(SCALE))
PATIENCE ?= 10
JOBS     ?= 2
RESULTS  ?= results
DATADIR  ?= data
MODELS   ?= $(RESULTS)/models
# extra prvr-synth knobs (corpus) and distill-step options (every training run), added after the
# scale's own so that they add to them (a later option wins); the corpus and the models are
# rebuilt when they change
SYNTH_OPTS ?=
TRAIN_OPTS ?=
# what was given beside the scale's options (the tables' command lines repeat it)
SYNTH_OPTS_GIVEN := $(SYNTH_OPTS)
TRAIN_OPTS_GIVEN := $(TRAIN_OPTS)
override SYNTH_OPTS := $(strip $(SYNTH_OPTS_$(SCALE)) $(SYNTH_OPTS))
override TRAIN_OPTS := $(strip $(TRAIN_OPTS_$(SCALE)) $(TRAIN_OPTS))
# the cost table's training steps (memory at batch 128, as the paper)
COST_BATCH ?= 128
COST_STEPS ?= 2
BETAS    = 0.0 0.1 0.2 0.3 0.4 0.5 0.6 0.7 0.8 0.9 1.0

ifneq ($(DATA),)
ifneq ($(words $(DATASETS)),1)
$(error DATA=$(DATA) needs DATASET=NAME naming what it holds (any name))
endif
endif
ifeq ($(filter tiny small full,$(SCALE)),)
$(error SCALE=$(SCALE): expected tiny, small or full)
endif

P = pipelines

# the pipelines' recipes (everything they make lives under these directories) run in bash with
# pipefail: a failure anywhere in a pipe fails the rule. private: not inherited by the tools'
# build rules, which keep the top Makefile's shell. .DELETE_ON_ERROR is the top Makefile's.
$(DATADIR)/% $(MODELS)/% $(RESULTS)/%: private SHELL = /bin/bash
$(DATADIR)/% $(MODELS)/% $(RESULTS)/%: private .SHELLFLAGS = -o pipefail -ec

# where the heavy steps run (corpus, feature reduction, teacher similarities, training, encoding,
# ranking): LAUNCH=local here, LAUNCH=slurm each as a Slurm job that make waits for ($(P)/srun.sh;
# doc/pipelines.md, "On a cluster"), named after its target, with JOBS cores, SLURM_MEM memory
# (training: SLURM_MEM_TRAIN; empty: the cluster's default) and SLURM_OPTS (partition, account,
# time limit, ...). The rule templates write $$(RUN), to expand it when the recipe runs ($$@).
LAUNCH          ?= local
SLURM_MEM       ?=
SLURM_MEM_TRAIN ?= $(SLURM_MEM)
SLURM_OPTS      ?=
ifeq ($(filter local slurm,$(LAUNCH)),)
$(error LAUNCH=$(LAUNCH): expected local or slurm)
endif
launch_local =
launch_slurm = $(P)/srun.sh -J $(notdir $(@D))/$(@F) -c $(JOBS) $(if $(1),--mem=$(1)) $(SLURM_OPTS) --
RUN          = $(call launch_$(LAUNCH),$(SLURM_MEM))
RUN_TRAIN    = $(call launch_$(LAUNCH),$(SLURM_MEM_TRAIN))

# per-dataset settings: the triplet margin (doc/method.md): MARGIN=M for every dataset, else
# MARGIN_<dataset>, else distill-step's default 0.1 (so any dataset name works)
MARGIN             ?=
MARGIN_tvr         ?= 0.1
MARGIN_activitynet ?= 0.2
MARGIN_charades    ?= 0.2
$(foreach d,$(DATASETS),$(eval MARGIN_$(d) := $(or $(MARGIN),$(MARGIN_$(d)),0.1)))

# ---- names -------------------------------------------------------------------------------------
# $(1) is a dataset name throughout.
# preset: the synthetic corpus; ckey: the corpus with every knob that changes it; rtag: the
# results directory name (results/<target>/<rtag>/).
preset   = $(1)$(if $(filter full,$(SCALE)),,-$(SCALE))
ckey     = $(if $(DATA),$(1)-import,$(call preset,$(1))-d$(DSEED))
rtag     = $(if $(DATA),$(1)-import,$(1)-$(SCALE))
corpus   = $(if $(DATA),$(DATA),$(DATADIR)/$(call ckey,$(1)))
streams  = $(DATADIR)/$(call ckey,$(1))-reduced
# a trained model: $(2) variant, $(3) seed
mdir     = $(MODELS)/$(call ckey,$(1))/$(2)-s$(3)-e$(EPOCHS)
datadesc = $(if $(DATA),imported features $(abspath $(DATA)),synthetic preset $(call preset,$(1)) (prvr-synth seed $(DSEED)$(if $(SYNTH_OPTS), $(SYNTH_OPTS))))

TOOLS_USED = prvr-synth feat-reduce teacher-sim distill-step encode-video encode-text rank \
	metrics prvr-cat prvr-cost
$(foreach t,$(TOOLS_USED),$(eval T_$(t) = $(BINDIR)/$(t)))

# ---- training variants -------------------------------------------------------------------------
# name -> distill-step options. Every variant not listed in NOTEACHER distils from the teacher.
OPT_dldkd    = --branches dual --kd sim --kd-loss kl --schedule exp
OPT_inh      = --branches inh --kd sim --kd-loss kl --schedule exp
OPT_exp      = --branches exp --schedule none
OPT_sim-mse  = --branches dual --kd sim --kd-loss mse --schedule exp
OPT_feat-kl  = --branches dual --kd feat --kd-loss kl --schedule exp
OPT_feat-mse = --branches dual --kd feat --kd-loss mse --schedule exp
OPT_dual-exp = --branches dual-exp --schedule none
OPT_dual-inh = --branches dual-inh --kd sim --kd-loss kl --schedule exp
OPT_fixed    = --branches dual --kd sim --kd-loss kl --schedule fixed
OPT_linear   = --branches dual --kd sim --kd-loss kl --schedule linear
OPT_sigmoid  = --branches dual --kd sim --kd-loss kl --schedule sigmoid
# DL-DKD++: soft alignment alone (DL-DKD's other settings), and the release's settings for the
# dataset ($(1) is the dataset when a rule expands this; other names get TVR's)
OPT_soft     = $(OPT_dldkd) --soft-align
OPT_dldkdpp  = --preset dldkd++:$(or $(filter tvr activitynet charades,$(1)),tvr)
NOTEACHER    = exp dual-exp
FEATKD       = feat-kl feat-mse
# trained with the teacher's frames and query embeddings in every batch
SOFTALIGN    = soft dldkdpp
SINGLE       = inh exp

# which models each experiment needs (variant/seed words)
NEED_main     = $(foreach s,$(SEEDS),dldkd/$(s) inh/$(s) exp/$(s))
NEED_kd-kind  = $(foreach s,$(SEEDS),sim-mse/$(s) dldkd/$(s) feat-mse/$(s) feat-kl/$(s))
NEED_beta     = $(foreach s,$(SEEDS),dldkd/$(s))
NEED_branches = $(foreach s,$(SEEDS),dldkd/$(s) dual-exp/$(s) dual-inh/$(s))
NEED_schedule = $(foreach s,$(SEEDS),dual-exp/$(s) fixed/$(s) linear/$(s) dldkd/$(s) sigmoid/$(s))
NEED_cost     = dldkd/$(SEED)
NEED_plusplus = $(foreach s,$(SEEDS),$(foreach r,$(PP_ROWS),$(lastword $(subst :, ,$(r)))/$(s)))
NEED_all      = $(sort $(NEED_main) $(NEED_kd-kind) $(NEED_beta) $(NEED_branches) \
	$(NEED_schedule) $(NEED_cost) $(NEED_plusplus))

# the schedule ablation's rows and the models behind them ("none" is w = 0, i.e. two branches
# without a teacher: the dual-exploration model)
SCHED_ROWS = none:dual-exp fixed:fixed linear:linear exp:dldkd sigmoid:sigmoid
KD_ROWS    = sim-mse:sim-mse sim-kl:dldkd feat-mse:feat-mse feat-kl:feat-kl
MAIN_ROWS  = exploration:exp inheritance:inh dl-dkd:dldkd
# each table's reference row (row:model): every other row is compared with it per seed
REF_main     = dl-dkd:dldkd
REF_kd-kind  = sim-kl:dldkd
REF_schedule = exp:dldkd
REF_branches = dl-dkd:dldkd
BRANCH_ROWS  = dl-dkd:dldkd dual-exp:dual-exp dual-inh:dual-inh
# plusplus's rows: DL-DKD and DL-DKD++;
# PP_ROWS="dl-dkd:dldkd dl-dkd-soft:soft dl-dkd++:dldkdpp" adds soft alignment alone
PP_ROWS     ?= dl-dkd:dldkd dl-dkd++:dldkdpp
REF_plusplus = dl-dkd:dldkd
# bootstrap resamples and permutations of those comparisons
RESAMPLES ?= 10000

# ---- per dataset: corpus, reduced streams, teacher -----------------------------------------------

define DATASET_rules
# the corpus: prvr-synth into a temporary directory, renamed when complete
ifeq ($(DATA),)
$(call corpus,$(1)).knobs: FORCE
	@mkdir -p $$(@D)
	@echo '$(SYNTH_OPTS)' > $$@.tmp
	@if cmp -s $$@.tmp $$@; then rm $$@.tmp; else mv $$@.tmp $$@; fi
$(call corpus,$(1))/corpus.mp: $(call corpus,$(1)).knobs $(T_prvr-synth)
	rm -rf $(call corpus,$(1)).tmp
	$$(RUN) $(T_prvr-synth) -q -p $(call preset,$(1)) -s $(DSEED) $(SYNTH_OPTS) -o $(call corpus,$(1)).tmp
	rm -rf $(call corpus,$(1))
	mv $(call corpus,$(1)).tmp $(call corpus,$(1))
else
$(call corpus,$(1))/corpus.mp:
	@echo "$(DATA): no corpus.mp (make a corpus directory with prvr-import -r ROOT -o $(DATA))" >&2; exit 1
endif

# the extra training options every model of this corpus was trained with
$(MODELS)/$(call ckey,$(1))/train-opts.txt: FORCE
	@mkdir -p $$(@D)
	@echo '$(TRAIN_OPTS)' > $$@.tmp
	@if cmp -s $$@.tmp $$@; then rm $$@.tmp; else mv $$@.tmp $$@; fi

# which corpus the reduced streams came from (rewritten only when that changes)
$(call streams,$(1))/source.txt: FORCE
	@mkdir -p $$(@D)
	@echo '$(abspath $(call corpus,$(1)))' > $$@.tmp
	@if cmp -s $$@.tmp $$@; then rm $$@.tmp; else mv $$@.tmp $$@; fi

# reduced features: segment averaging to <= 128 frames, tokens to <= 30, student rows normalised
$(call streams,$(1))/%.mp: $(call corpus,$(1))/corpus.mp $(call streams,$(1))/source.txt $(T_feat-reduce)
	$$(RUN) $(T_feat-reduce) -q -i $(call corpus,$(1))/$$*.mp -o $$@.tmp
	mv $$@.tmp $$@

# teacher similarities to each training query's own video (the distillation target)
$(call streams,$(1))/train-tsim.mp: $(call streams,$(1))/train-video-teacher.mp \
		$(call streams,$(1))/train-query-teacher.mp $(T_teacher-sim)
	$$(RUN) $(T_teacher-sim) -Q -j $(JOBS) -v $$(word 1,$$^) -q $$(word 2,$$^) > $$@.tmp
	mv $$@.tmp $$@

# the zero-shot teacher on the test split: scores -> metrics
$(call streams,$(1))/teacher-scores.mp: $(call streams,$(1))/test-video-teacher.mp \
		$(call streams,$(1))/test-query-teacher.mp $(T_teacher-sim)
	$$(RUN) $(T_teacher-sim) -Q -S -j $(JOBS) -v $$(word 1,$$^) -q $$(word 2,$$^) > $$@.tmp
	mv $$@.tmp $$@
$(call streams,$(1))/teacher-test.tsv: $(call streams,$(1))/teacher-scores.mp $(T_metrics)
	$(T_metrics) -q -f tsv -i $$< | awk -f $(P)/metrics.awk > $$@.tmp
	mv $$@.tmp $$@
endef

# ---- per trained model: train, encode, score, evaluate, curves ---------------------------------
# $(1) dataset, $(2) variant, $(3) seed
# Training resumes a killed run: distill-step keeps CKPT.best (the best epoch so far, with the
# whole training state) and publishes the log after every epoch, so a rerun continues from
# CKPT.best (replaying the epochs after it bit for bit) unless a prerequisite is newer.

define MODEL_rules
$(call mdir,$(1),$(2),$(3))/ckpt.mp: $(T_distill-step) $(MODELS)/$(call ckey,$(1))/train-opts.txt \
		$(addprefix $(call streams,$(1))/,train-video-student.mp train-query-student.mp \
		val-video-student.mp val-query-student.mp) \
		$(if $(filter $(2),$(NOTEACHER)),,$(call streams,$(1))/train-tsim.mp) \
		$(if $(filter $(2),$(FEATKD) $(SOFTALIGN)),$(call streams,$(1))/train-video-teacher.mp) \
		$(if $(filter $(2),$(SOFTALIGN)),$(call streams,$(1))/train-query-teacher.mp)
	@mkdir -p $$(@D)
	@echo "train $(call ckey,$(1)) $(2) seed $(3) ($(EPOCHS) epochs at most)" >&2
	SECONDS=0; resume=; \
	for f in $$^; do [ "$$$$f" -nt $$@.best ] && rm -f $$@.best $$(@D)/log.mp.tmp; done; \
	if [ -f $$@.best ]; then \
		resume="--resume $$@.best"; echo "  resumed from the killed run's $$@.best" >&2; \
	else rm -f $$(@D)/log.mp.tmp; fi; \
	$$(RUN_TRAIN) $(T_distill-step) $$$${resume} \
		-v $(call streams,$(1))/train-video-student.mp \
		-q $(call streams,$(1))/train-query-student.mp \
		$(if $(filter $(2),$(NOTEACHER)),,-t $(call streams,$(1))/train-tsim.mp) \
		$(if $(filter $(2),$(FEATKD) $(SOFTALIGN)),-T $(call streams,$(1))/train-video-teacher.mp) \
		$(if $(filter $(2),$(SOFTALIGN)),--teacher-query $(call streams,$(1))/train-query-teacher.mp) \
		--val-video $(call streams,$(1))/val-video-student.mp \
		--val-query $(call streams,$(1))/val-query-student.mp \
		$(OPT_$(2)) --margin $(MARGIN_$(1)) --epochs $(EPOCHS) --patience $(PATIENCE) \
		--seed $(3) -j $(JOBS) $(TRAIN_OPTS) \
		-l $$(@D)/log.mp.tmp -o $$@ 2> $$(@D)/train.err || \
		{ tail -n 20 $$(@D)/train.err >&2; rm -f $$(@D)/log.mp.tmp; exit 1; }; \
	echo "trained $(call ckey,$(1)) $(2) seed $(3) in $$$${SECONDS}s" >&2
	mv $$(@D)/log.mp.tmp $$(@D)/log.mp

$(call mdir,$(1),$(2),$(3))/log.mp: $(call mdir,$(1),$(2),$(3))/ckpt.mp

# per-epoch curves (every loss component, validation SumR, w(e)) and their picture
$(call mdir,$(1),$(2),$(3))/curves.tsv: $(call mdir,$(1),$(2),$(3))/log.mp $(T_prvr-cat) $(P)/curves.awk
	$(T_prvr-cat) < $$< | awk -f $(P)/curves.awk > $$@.tmp
	mv $$@.tmp $$@
$(call mdir,$(1),$(2),$(3))/curves.png: $(call mdir,$(1),$(2),$(3))/curves.tsv $(P)/curves.gp
	gnuplot -e "in='$$<'; out='$$@.tmp'; title='$(call rtag,$(1)) $(2) seed $(3): training curves'" $(P)/curves.gp
	mv $$@.tmp $$@

# the test split encoded by each branch
$(call mdir,$(1),$(2),$(3))/test-videos.mp: $(call mdir,$(1),$(2),$(3))/ckpt.mp \
		$(call streams,$(1))/test-video-student.mp $(T_encode-video)
	$$(RUN) $(T_encode-video) -j $(JOBS) -c $$< < $$(word 2,$$^) > $$@.tmp
	mv $$@.tmp $$@
$(call mdir,$(1),$(2),$(3))/test-queries.mp: $(call mdir,$(1),$(2),$(3))/ckpt.mp \
		$(call streams,$(1))/test-query-student.mp $(T_encode-text)
	$$(RUN) $(T_encode-text) -j $(JOBS) -c $$< < $$(word 2,$$^) > $$@.tmp
	mv $$@.tmp $$@

# the headline number: rank (fused at β = 0.3 for two branches) -> metrics, plus the best epoch
$(call mdir,$(1),$(2),$(3))/test.tsv: $(call mdir,$(1),$(2),$(3))/test-videos.mp \
		$(call mdir,$(1),$(2),$(3))/test-queries.mp $(call mdir,$(1),$(2),$(3))/curves.tsv \
		$(T_rank) $(T_metrics) $(P)/metrics.awk
	$$(RUN) $(T_rank) -Q -j $(JOBS) -v $$(word 1,$$^) -q $$(word 2,$$^) $(if $(filter $(2),$(SINGLE)),,-b 0.3) | \
		$(T_metrics) -q -f tsv | awk -f $(P)/metrics.awk -v curves=$$(word 3,$$^) > $$@.tmp
	mv $$@.tmp $$@

# every branch's scores, kept for re-ranking (β sweep) without re-encoding
$(call mdir,$(1),$(2),$(3))/test-scores.mp: $(call mdir,$(1),$(2),$(3))/test-videos.mp \
		$(call mdir,$(1),$(2),$(3))/test-queries.mp $(T_rank)
	$$(RUN) $(T_rank) -Q -S -j $(JOBS) -v $$(word 1,$$^) -q $$(word 2,$$^) > $$@.tmp
	mv $$@.tmp $$@

# the β sweep: metrics of the fused score for each β, from the stored scores
$(call mdir,$(1),$(2),$(3))/beta.tsv: $(call mdir,$(1),$(2),$(3))/test-scores.mp $(T_metrics) \
		$(P)/metrics.awk
	for b in $(BETAS); do \
		$(T_metrics) -q -f tsv -i $$< -b $$$$b | awk -f $(P)/metrics.awk -v beta=$$$$b | \
			if [ $$$$b = $(firstword $(BETAS)) ]; then cat; else tail -n +2; fi; \
	done > $$@.tmp
	mv $$@.tmp $$@
endef

FORCE:
.PHONY: FORCE

# ---- the experiments: tables and figures per dataset --------------------------------------------

# run files of the models behind a row: $(1) dataset, $(2) variant, $(3) seeds
runs = $(foreach s,$(3),$(call mdir,$(1),$(2),$(s))/test.tsv)
# every model's test scores of a table: $(1) dataset, $(2) row:model pairs
scorefiles = $(foreach r,$(2),$(foreach s,$(SEEDS),$(call mdir,$(1),$(lastword $(subst :, ,$(r))),$(s))/test-scores.mp))
# the scores of a row's model for seed $(3) (the teacher has one for every seed): $(1) dataset,
# $(2) model
rowscores = $(if $(filter teacher,$(2)),$(call streams,$(1))/teacher-scores.mp,$(call mdir,$(1),$(2),$(3))/test-scores.mp)
# the paired comparisons of a table's rows with its reference $(3) (row:model), appended to
# $(4): per row "dataset row ref diff lo hi p" of SumR (metrics --compare, pairs over SEEDS)
# $(1) dataset, $(2) row:model pairs, $(5) the function naming a model's scores (default
# rowscores; t2vr.mk's runs live elsewhere)
compare = $(foreach r,$(filter-out $(3),$(2)),\
	$(T_metrics) -q --compare -f tsv --resamples $(RESAMPLES) $(foreach s,$(SEEDS),\
		$(call $(or $(5),rowscores),$(1),$(lastword $(subst :, ,$(3))),$(s)) \
		$(call $(or $(5),rowscores),$(1),$(lastword $(subst :, ,$(r))),$(s))) | \
	awk -F'\t' -v OFS='\t' '$$$$1 == "sumr" { print "$(1)", "$(firstword $(subst :, ,$(r)))", \
		"$(firstword $(subst :, ,$(3)))", $$$$4, $$$$5, $$$$6, $$$$7 }' >> $(4);)
rdir = $(RESULTS)/$(1)/$(call rtag,$(2))
# the make command line that makes table $(1) again: $(2) dataset (none: the target's own),
# $(3) seeds (cost: SEED), $(4) further knobs of the target. It repeats every knob the table's
# knobs.txt records that was given on the command line or in the environment (the scale's
# defaults are not repeated): run again with RESULTS and DATADIR, it remakes nothing.
given = $(filter command line environment override,$(origin $(1)))
given_knobs = $(foreach k,$(1),$(if $(call given,$(k)),$(k)="$($(k))"))
command = $(strip make $(1)$(if $(2), DATASET=$(2)) SCALE=$(SCALE) \
	$(if $(filter cost,$(1)),SEED=$(3),SEEDS="$(3)") JOBS=$(JOBS) \
	$(call given_knobs,$(if $(filter cost,$(1)),SEEDS,SEED) EPOCHS PATIENCE DATA DSEED MARGIN RESAMPLES COST_BATCH) \
	$(foreach k,SYNTH_OPTS TRAIN_OPTS,$(if $($(k)_GIVEN),$(k)="$($(k)_GIVEN)")) $(4))
# the provenance block of table $(1) of dataset $(2) over seeds $(3); $(4) further knobs
meta = $(P)/meta.sh $(1) $(2) '$(call datadesc,$(2))' '$(3)' \
	'at most $(EPOCHS) (patience $(PATIENCE)); best checkpoint by validation SumR, fused β = 0.3$(if $(TRAIN_OPTS),; training options $(TRAIN_OPTS))' \
	'$(call command,$(1),$(2),$(3),$(4))'
# the knobs a table depends on, rewritten only when they change; a table's own knobs beside them
# (its rows: a row added or removed remakes the table, whose models make keeps as secondary
# files and would otherwise not build for a table newer than their inputs)
KNOBS_plusplus = PP_ROWS=$(PP_ROWS)
define KNOBS_rule
$(call rdir,$(1),$(2))/knobs.txt: FORCE
	@mkdir -p $$(@D)
	@echo 'SEEDS=$(SEEDS) SEED=$(SEED) EPOCHS=$(EPOCHS) PATIENCE=$(PATIENCE) DATA=$(DATA) DSEED=$(DSEED) SYNTH_OPTS=$(SYNTH_OPTS) TRAIN_OPTS=$(TRAIN_OPTS) COST_BATCH=$(COST_BATCH) RESAMPLES=$(RESAMPLES)$(if $(KNOBS_$(1)), $(KNOBS_$(1)))' > $$@.tmp
	@if cmp -s $$@.tmp $$@; then rm $$@.tmp; else mv $$@.tmp $$@; fi
endef

define EXPERIMENT_rules
$(foreach t,main kd-kind beta-sweep branches schedule cost plusplus,$(eval $(call KNOBS_rule,$(t),$(1))))

# main: teacher, exploration, inheritance, DL-DKD over SEEDS
$(call rdir,main,$(1))/main.tsv $(call rdir,main,$(1))/main.md &: $(call rdir,main,$(1))/knobs.txt \
		$(call streams,$(1))/teacher-test.tsv $(call runs,$(1),exp,$(SEEDS)) \
		$(call runs,$(1),inh,$(SEEDS)) $(call runs,$(1),dldkd,$(SEEDS)) \
		$(call streams,$(1))/teacher-scores.mp $(call scorefiles,$(1),$(MAIN_ROWS)) $(T_metrics) \
		$(P)/rows.awk $(P)/table.sh $(P)/paper/main.tsv
	{ awk -v dataset=$(1) -v row=teacher -f $(P)/rows.awk $(call streams,$(1))/teacher-test.tsv; \
	  awk -v dataset=$(1) -v row=exploration -f $(P)/rows.awk $(call runs,$(1),exp,$(SEEDS)); \
	  awk -v dataset=$(1) -v row=inheritance -f $(P)/rows.awk $(call runs,$(1),inh,$(SEEDS)); \
	  awk -v dataset=$(1) -v row=dl-dkd -f $(P)/rows.awk $(call runs,$(1),dldkd,$(SEEDS)); \
	} > $$(@D)/rows.tmp
	rm -f $$(@D)/diffs.tmp
	$(call compare,$(1),teacher:teacher $(MAIN_ROWS),$(REF_main),$$(@D)/diffs.tmp)
	$(call meta,main,$(1),$(SEEDS)) > $$(@D)/meta.tmp
	$(P)/table.sh -r $$(@D)/rows.tmp -d $$(@D)/diffs.tmp -p $(P)/paper/main.tsv -m $$(@D)/meta.tmp \
		-t "Main results, $(call rtag,$(1)): R@K and SumR on the test split" -o $$(@D)/main
	rm -f $$(@D)/rows.tmp $$(@D)/diffs.tmp $$(@D)/meta.tmp
$(call rdir,main,$(1))/curves.png: $(call mdir,$(1),dldkd,$(firstword $(SEEDS)))/curves.png
	cp $$< $$@.tmp
	mv $$@.tmp $$@

# kd-kind: supp. Tables 2-3
$(call rdir,kd-kind,$(1))/kd-kind.tsv $(call rdir,kd-kind,$(1))/kd-kind.md &: $(call rdir,kd-kind,$(1))/knobs.txt \
		$(foreach r,$(KD_ROWS),$(call runs,$(1),$(lastword $(subst :, ,$(r))),$(SEEDS))) \
		$(call scorefiles,$(1),$(KD_ROWS)) $(T_metrics) \
		$(P)/rows.awk $(P)/table.sh $(P)/paper/kd-kind.tsv
	rm -f $$(@D)/rows.tmp $$(@D)/diffs.tmp
	$(foreach r,$(KD_ROWS),awk -v dataset=$(1) -v row=$(firstword $(subst :, ,$(r))) -f $(P)/rows.awk \
		$(call runs,$(1),$(lastword $(subst :, ,$(r))),$(SEEDS)) >> $$(@D)/rows.tmp;)
	$(call compare,$(1),$(KD_ROWS),$(REF_kd-kind),$$(@D)/diffs.tmp)
	$(call meta,kd-kind,$(1),$(SEEDS)) > $$(@D)/meta.tmp
	$(P)/table.sh -r $$(@D)/rows.tmp -d $$(@D)/diffs.tmp -p $(P)/paper/kd-kind.tsv -m $$(@D)/meta.tmp \
		-t "Similarity- vs feature-based distillation, MSE vs KL (supp. Tables 2-3), $(call rtag,$(1))" \
		-o $$(@D)/kd-kind
	rm -f $$(@D)/rows.tmp $$(@D)/diffs.tmp $$(@D)/meta.tmp
$(call rdir,kd-kind,$(1))/kd-kind.png: $(foreach r,$(KD_ROWS),$(call mdir,$(1),$(lastword $(subst :, ,$(r))),$(firstword $(SEEDS)))/curves.tsv) \
		$(P)/join-curves.awk $(P)/schedule.gp
	awk -f $(P)/join-curves.awk -v names="$(foreach r,$(KD_ROWS),$(firstword $(subst :, ,$(r))))" \
		$(foreach r,$(KD_ROWS),$(call mdir,$(1),$(lastword $(subst :, ,$(r))),$(firstword $(SEEDS)))/curves.tsv) > $$(@D)/kd-kind-curves.tsv
	gnuplot -e "in='$$(@D)/kd-kind-curves.tsv'; out='$$@.tmp'; k=$(words $(KD_ROWS)); title='$(call rtag,$(1)): distillation kind, seed $(firstword $(SEEDS))'" $(P)/schedule.gp
	mv $$@.tmp $$@

# beta-sweep: supp. Figure 1 (each β: the mean over SEEDS of the DL-DKD models re-ranked)
$(call rdir,beta-sweep,$(1))/beta-sweep.tsv $(call rdir,beta-sweep,$(1))/beta-sweep.md &: $(call rdir,beta-sweep,$(1))/knobs.txt \
		$(foreach s,$(SEEDS),$(call mdir,$(1),dldkd,$(s))/beta.tsv) $(P)/beta-table.sh $(P)/paper/beta.tsv
	$(call meta,beta-sweep,$(1),$(SEEDS)) > $$(@D)/meta.tmp
	$(P)/beta-table.sh -d $(1) -m $$(@D)/meta.tmp -p $(P)/paper/beta.tsv \
		-t "SumR against β from trained DL-DKD models (supp. Figure 1), $(call rtag,$(1))" \
		-o $$(@D)/beta-sweep $(foreach s,$(SEEDS),dl-dkd=$(call mdir,$(1),dldkd,$(s))/beta.tsv)
	rm -f $$(@D)/meta.tmp
$(call rdir,beta-sweep,$(1))/beta-sweep.png: $(call rdir,beta-sweep,$(1))/beta-sweep.tsv $(P)/beta.gp
	awk -f $(P)/beta-plot.awk $$< > $$(@D)/beta-plot.tsv
	gnuplot -e "in='$$(@D)/beta-plot.tsv'; out='$$@.tmp'; title='$(call rtag,$(1)): SumR against β, DL-DKD (mean over seeds $(SEEDS))'; note='paper: best at β = 0.3; β = 0 (inheritance) above β = 1 (exploration)'" $(P)/beta.gp
	mv $$@.tmp $$@

# branches: supp. Figure 2 (means over SEEDS; each baseline compared with DL-DKD at β = 0.3)
$(call rdir,branches,$(1))/branches.tsv $(call rdir,branches,$(1))/branches.md &: $(call rdir,branches,$(1))/knobs.txt \
		$(foreach v,dldkd dual-exp dual-inh,$(foreach s,$(SEEDS),$(call mdir,$(1),$(v),$(s))/beta.tsv)) \
		$(call scorefiles,$(1),$(BRANCH_ROWS)) $(T_metrics) $(P)/beta-table.sh $(P)/paper/beta.tsv
	rm -f $$(@D)/diffs.tmp
	$(call compare,$(1),$(BRANCH_ROWS),$(REF_branches),$$(@D)/diffs.tmp)
	$(call meta,branches,$(1),$(SEEDS)) > $$(@D)/meta.tmp
	$(P)/beta-table.sh -d $(1) -m $$(@D)/meta.tmp -p $(P)/paper/beta.tsv -D $$(@D)/diffs.tmp -b 0.3 \
		-t "DL-DKD against the two-branch baselines across β (supp. Figure 2), $(call rtag,$(1))" \
		-o $$(@D)/branches $(foreach r,$(BRANCH_ROWS),$(foreach s,$(SEEDS),$(firstword $(subst :, ,$(r)))=$(call mdir,$(1),$(lastword $(subst :, ,$(r))),$(s))/beta.tsv))
	rm -f $$(@D)/meta.tmp $$(@D)/diffs.tmp
$(call rdir,branches,$(1))/branches.png: $(call rdir,branches,$(1))/branches.tsv $(P)/beta.gp
	awk -f $(P)/beta-plot.awk $$< > $$(@D)/beta-plot.tsv
	gnuplot -e "in='$$(@D)/beta-plot.tsv'; out='$$@.tmp'; title='$(call rtag,$(1)): two-branch models across β (mean over seeds $(SEEDS))'; note='paper: DL-DKD above dual-exploration and dual-inheritance at every β'" $(P)/beta.gp
	mv $$@.tmp $$@

# schedule: the distillation schedule ablation
$(call rdir,schedule,$(1))/schedule.tsv $(call rdir,schedule,$(1))/schedule.md &: $(call rdir,schedule,$(1))/knobs.txt \
		$(foreach r,$(SCHED_ROWS),$(call runs,$(1),$(lastword $(subst :, ,$(r))),$(SEEDS))) \
		$(call scorefiles,$(1),$(SCHED_ROWS)) $(T_metrics) \
		$(P)/rows.awk $(P)/table.sh $(P)/paper/schedule.tsv
	rm -f $$(@D)/rows.tmp $$(@D)/diffs.tmp
	$(foreach r,$(SCHED_ROWS),awk -v dataset=$(1) -v row=$(firstword $(subst :, ,$(r))) -f $(P)/rows.awk \
		$(call runs,$(1),$(lastword $(subst :, ,$(r))),$(SEEDS)) >> $$(@D)/rows.tmp;)
	$(call compare,$(1),$(SCHED_ROWS),$(REF_schedule),$$(@D)/diffs.tmp)
	$(call meta,schedule,$(1),$(SEEDS)) > $$(@D)/meta.tmp
	$(P)/table.sh -r $$(@D)/rows.tmp -d $$(@D)/diffs.tmp -p $(P)/paper/schedule.tsv -m $$(@D)/meta.tmp \
		-t "Distillation schedule ablation, $(call rtag,$(1))" -o $$(@D)/schedule
	rm -f $$(@D)/rows.tmp $$(@D)/diffs.tmp $$(@D)/meta.tmp
$(call rdir,schedule,$(1))/schedule.png: $(foreach r,$(SCHED_ROWS),$(call mdir,$(1),$(lastword $(subst :, ,$(r))),$(firstword $(SEEDS)))/curves.tsv) \
		$(P)/join-curves.awk $(P)/schedule.gp
	awk -f $(P)/join-curves.awk -v names="$(foreach r,$(SCHED_ROWS),$(firstword $(subst :, ,$(r))))" \
		$(foreach r,$(SCHED_ROWS),$(call mdir,$(1),$(lastword $(subst :, ,$(r))),$(firstword $(SEEDS)))/curves.tsv) > $$(@D)/schedule-curves.tsv
	gnuplot -e "in='$$(@D)/schedule-curves.tsv'; out='$$@.tmp'; k=$(words $(SCHED_ROWS)); title='$(call rtag,$(1)): distillation schedules, seed $(firstword $(SEEDS))'" $(P)/schedule.gp
	mv $$@.tmp $$@

# plusplus: DL-DKD, DL-DKD++ (release settings) and with PP_ROWS soft alignment alone, over SEEDS,
# each compared with DL-DKD per seed; beside them the DL-DKD paper's and the DL-DKD++ release's
# numbers
$(call rdir,plusplus,$(1))/plusplus.tsv $(call rdir,plusplus,$(1))/plusplus.md &: $(call rdir,plusplus,$(1))/knobs.txt \
		$(foreach r,$(PP_ROWS),$(call runs,$(1),$(lastword $(subst :, ,$(r))),$(SEEDS))) \
		$(call scorefiles,$(1),$(PP_ROWS)) $(T_metrics) \
		$(P)/rows.awk $(P)/table.sh $(P)/paper/plusplus.tsv
	rm -f $$(@D)/rows.tmp $$(@D)/diffs.tmp
	$(foreach r,$(PP_ROWS),awk -v dataset=$(1) -v row=$(firstword $(subst :, ,$(r))) -f $(P)/rows.awk \
		$(call runs,$(1),$(lastword $(subst :, ,$(r))),$(SEEDS)) >> $$(@D)/rows.tmp;)
	$(call compare,$(1),$(PP_ROWS),$(REF_plusplus),$$(@D)/diffs.tmp)
	{ $(call meta,plusplus,$(1),$(SEEDS),$(call given_knobs,PP_ROWS)); \
	  echo 'DL-DKD++: --preset dldkd++:$(or $(filter tvr activitynet charades,$(1)),tvr) with the scale'"'"'s epochs, patience and seeds$(if $(filter dl-dkd-soft:soft,$(PP_ROWS)),; soft alignment alone: DL-DKD + --soft-align)'; \
	} > $$(@D)/meta.tmp
	$(P)/table.sh -r $$(@D)/rows.tmp -d $$(@D)/diffs.tmp -p $(P)/paper/plusplus.tsv -m $$(@D)/meta.tmp \
		-t "DL-DKD and its successor DL-DKD++ (soft alignment), $(call rtag,$(1))" -o $$(@D)/plusplus
	rm -f $$(@D)/rows.tmp $$(@D)/diffs.tmp $$(@D)/meta.tmp

# cost: supp. Table 4 at this dataset's shape
$(call rdir,cost,$(1))/cost.tsv $(call rdir,cost,$(1))/cost.md &: $(call rdir,cost,$(1))/knobs.txt \
		$(addprefix $(call streams,$(1))/,train-video-student.mp train-query-student.mp \
		test-video-student.mp test-query-student.mp) $(call runs,$(1),dldkd,$(SEED)) \
		$(T_prvr-cost) $(T_prvr-cat) $(P)/shape.sh $(P)/cost-table.sh $(P)/paper/cost.tsv
	shape="$$$$($(P)/shape.sh $(T_prvr-cat) $(call streams,$(1)) $(if $(DATA),,$(1)))"; \
	$(T_prvr-cost) $$$$shape --no-train -j $(JOBS) > $$(@D)/mean.tmp; \
	$(T_prvr-cost) $$$$shape --frames 128 --tokens 30 --batch $(COST_BATCH) --steps $(COST_STEPS) \
		-j $(JOBS) > $$(@D)/max.tmp
	$(call meta,cost,$(1),$(SEED),$(call given_knobs,COST_STEPS)) > $$(@D)/meta.tmp
	$(P)/cost-table.sh -d $(1) -m $$(@D)/meta.tmp -p $(P)/paper/cost.tsv \
		-s "$$$$(awk -F'\t' 'NR == 1 { for (i = 1; i <= NF; i++) if ($$$$i == "sumr") c = i } NR == 2 { print $$$$c }' $(call runs,$(1),dldkd,$(SEED)))" \
		-t "Cost (supp. Table 4), $(call rtag,$(1))" -o $$(@D)/cost $$(@D)/mean.tmp $$(@D)/max.tmp
	rm -f $$(@D)/mean.tmp $$(@D)/max.tmp $$(@D)/meta.tmp
endef

$(foreach d,$(DATASETS),$(eval $(call DATASET_rules,$(d))))
$(foreach d,$(DATASETS),$(foreach m,$(NEED_all),$(eval $(call MODEL_rules,$(d),$(word 1,$(subst /, ,$(m))),$(word 2,$(subst /, ,$(m)))))))
$(foreach d,$(DATASETS),$(eval $(call EXPERIMENT_rules,$(d))))

# ---- targets -------------------------------------------------------------------------------------

OUT_main       = main.md main.tsv curves.png
OUT_kd-kind    = kd-kind.md kd-kind.tsv kd-kind.png
OUT_beta-sweep = beta-sweep.md beta-sweep.tsv beta-sweep.png
OUT_branches   = branches.md branches.tsv branches.png
OUT_schedule   = schedule.md schedule.tsv schedule.png
OUT_cost       = cost.md cost.tsv
OUT_plusplus   = plusplus.md plusplus.tsv
EXPERIMENTS    = main kd-kind beta-sweep branches schedule cost
# the successor's comparison: its own target, not the paper's
EXTRAS         = plusplus

$(foreach t,$(EXPERIMENTS) $(EXTRAS),$(eval $(t): $(foreach d,$(DATASETS),$(addprefix $(call rdir,$(t),$(d))/,$(OUT_$(t))))))

paper: $(EXPERIMENTS) t2vr

# the README's job: DL-DKD on a small TVR-like corpus (three trainings, two at a time), the
# main table on stdout: the seed-1 runs of `make main DATASET=tvr` at the scale's own epochs,
# so the demo's models are those of the committed table's first seed
DEMO_SCALE  ?= small
demo:
	$(MAKE) --no-print-directory -s -j2 main DATASET=tvr SCALE=$(DEMO_SCALE) SEEDS=$(SEED) JOBS=1
	@cat $(RESULTS)/main/tvr-$(DEMO_SCALE)/main.md

# copy the tables and figures (not the models or data) under examples/results/ for the README
EXAMPLES ?= examples/results
# what publish copies: target/dataset pairs (t2vr.mk adds its own) and every target's outputs
PUBLISHED = $(foreach t,$(EXPERIMENTS) $(EXTRAS),$(foreach d,$(DATASETS),$(t)/$(d))) $(PUBLISHED_MORE)
publish:
	@for td in $(PUBLISHED); do t=$${td%%/*}; d=$${td#*/}-$(if $(DATA),import,$(SCALE)); \
		src=$(RESULTS)/$$t/$$d; [ -d $$src ] || continue; mkdir -p $(EXAMPLES)/$$t/$$d; \
		for f in $(sort $(foreach td,$(PUBLISHED),$(OUT_$(firstword $(subst /, ,$(td)))))); do \
			[ ! -f $$src/$$f ] || cp $$src/$$f $(EXAMPLES)/$$t/$$d/; \
		done; echo "$(EXAMPLES)/$$t/$$d"; done

.PHONY: paper demo publish $(EXPERIMENTS) $(EXTRAS)

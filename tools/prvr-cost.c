/* prvr-cost: the cost of the DL-DKD student at a dataset's shape (supplementary Table 4):
 * FLOPs to encode one video-text pair with every branch, backbones excluded, counted from the
 * architecture (model_flops_video / model_flops_query of lib/model.h) and checked against the
 * count of every matrix product actually run (layers_flops of lib/layers.h) while encoding one
 * video and one query; and the peak resident memory of training steps at batch B (default 128
 * videos, each with its queries): parameters, gradients, Adam moments and the activations of
 * one forward/backward pass, the CPU counterpart of the paper's GPU training memory (the
 * training set itself, which distill-step also holds, is not part of it). Inputs are random
 * features of the shape; nothing is read. Prints one TSV header line and one line of values.
 * Not here: training to convergence (distill-step), retrieval quality (metrics). */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cblas.h>

#include "adam.h"
#include "layers.h"
#include "model.h"
#include "reduce.h"
#include "rng.h"
#include "synth.h"
#include "threads.h"
#include "util.h"

/* the paper's backbone cost per pair (supplementary, section 4): vision 222 G, text 79 G */
#define BACKBONE_GFLOPS (222.0 + 79.0)

static void
help(void)
{
	printf("prvr-cost - FLOPs per video-text pair and training memory of the DL-DKD student\n"
	       "\n"
	       "usage: %s -p PRESET | --dims DV,DT [--frames L] [--tokens T] [--batch B]\n"
	       "       [--queries Q] [--steps N] [--branches dual|inh|exp] [--hidden D] [--heads NH]\n"
	       "       [--no-train] [-s SEED] [-j N]\n"
	       "\n"
	       "Builds the student at a dataset's shape and prints a TSV header and one line:\n"
	       "  shape dv dt frames tokens branches params\n"
	       "  video_gflops query_gflops pair_gflops   analytic, every branch (model_flops_*)\n"
	       "  measured_gflops                         2*M*N*K of every matrix product run while\n"
	       "                                          encoding one video and one query\n"
	       "  flops_rel_diff                          |measured - analytic| / analytic\n"
	       "  two_branch_increase_pct                 (pair with two branches - with one) over\n"
	       "                                          (one branch + the paper's 301 G backbones)\n"
	       "  batch queries train_steps step_seconds  the training steps run\n"
	       "  peak_rss_mib                            peak resident memory of this process\n"
	       "  state_mib                               parameters, gradients, Adam m and v\n"
	       "Backbones (CNN, RoBERTa, CLIP) are excluded, as in the paper's Table 4.\n"
	       "\n"
	       "  -p PRESET        take dv, dt and queries per video from a prvr-synth preset\n"
	       "                   (%s)\n"
	       "  --dims DV,DT     student video and token feature dims instead (1..65536)\n"
	       "  --frames L       frames per video, 1..128 (default 128, the model's maximum)\n"
	       "  --tokens T       tokens per query, 1..30 (default 30, the model's maximum)\n"
	       "  --batch B        videos per training step, 1..4096 (default 128)\n"
	       "  --queries Q      queries per video in a batch, 0.1..100 (default: the preset's\n"
	       "                   training split; 5 with --dims)\n"
	       "  --steps N        training steps run for the memory figure, 1..100 (default 2)\n"
	       "  --branches B     dual, inh or exp (default dual)\n"
	       "  --hidden D       hidden size, 4..4096 (default 384)\n"
	       "  --heads NH       attention heads, 1..64, dividing D (default 4)\n"
	       "  --no-train       FLOPs only (train_steps 0; memory columns then cover encoding)\n"
	       "  -s SEED          random seed of weights and inputs (default 1)\n"
	       "  -j N             threads in all, BLAS included (default $OPENBLAS_NUM_THREADS or 2)\n"
	       "\n"
	       "Exit status 0 on success, 1 on any error.\n", argv0, synth_preset_list());
	exit(0);
}

static void
usage(void)
{
	die("usage: %s -p PRESET | --dims DV,DT [--frames L] [--tokens T] [--batch B] [--queries Q] "
	    "[--steps N] [--branches dual|inh|exp] [--hidden D] [--heads NH] [--no-train] [-s SEED] "
	    "[-j N]", argv0);
}

static void
randn(float *x, size_t n, Rng *r)
{
	for (size_t i = 0; i < n; i++)
		x[i] = rng_normal(r);
}

int
main(int argc, char *argv[])
{
	static const struct option lo[] = {
		{"dims", required_argument, 0, 'd'}, {"frames", required_argument, 0, 'L'},
		{"tokens", required_argument, 0, 'T'}, {"batch", required_argument, 0, 'B'},
		{"queries", required_argument, 0, 'Q'}, {"steps", required_argument, 0, 'n'},
		{"branches", required_argument, 0, 'b'}, {"hidden", required_argument, 0, 'D'},
		{"heads", required_argument, 0, 'H'}, {"no-train", no_argument, 0, 'N'},
		{0, 0, 0, 0}
	};
	SynthConfig sc;
	ModelConfig mc = {0};
	LossConfig lc = {0};
	Batch bt = {0};
	LossParts parts;
	AdamConfig ac;
	Model *m;
	Rng rng;
	const char *preset = NULL, *branches = "dual", *shape;
	char *comma;
	int c, dv = 0, dt = 0, L = 128, T = 30, B = 128, steps = 2, D = 384, NH = 4, train = 1;
	const char *jarg = NULL;
	long seed = 1;
	double qpv = 0, a_video = 0, a_query = 0, a_one, measured, t0, secs = 0;
	float *video, *query, *tau, *out;
	int *vlen, *qlen, *qvid, Nq;

	tool_start(argc, argv, help);
	while ((c = getopt_long(argc, argv, ":p:s:j:", lo, NULL)) != -1) {
		switch (c) {
		case 'p': preset = optarg; break;
		case 'd':
			if (!(comma = strchr(optarg, ',')))
				die("--dims %s: expected DV,DT", optarg);
			*comma = '\0';
			dv = (int)estrtol(optarg, 1, 65536);
			dt = (int)estrtol(comma + 1, 1, 65536);
			break;
		case 'L': L = (int)estrtol(optarg, 1, 128); break;
		case 'T': T = (int)estrtol(optarg, 1, 30); break;
		case 'B': B = (int)estrtol(optarg, 1, 4096); break;
		case 'Q': qpv = estrtod(optarg, 0.1, 100); break;
		case 'n': steps = (int)estrtol(optarg, 1, 100); break;
		case 'b': branches = optarg; break;
		case 'D': D = (int)estrtol(optarg, 4, 4096); break;
		case 'H': NH = (int)estrtol(optarg, 1, 64); break;
		case 'N': train = 0; break;
		case 's': seed = estrtol(optarg, 0, 1L << 62); break;
		case 'j': jarg = optarg; break;
		default: bad_option(c);
		}
	}
	if (optind != argc || (!preset) == (!dv))
		usage();
	if (preset) {
		if (!synth_preset(&sc, preset))
			die("-p %s: unknown preset (known: %s)", preset, synth_preset_list());
		dv = sc.dv;
		dt = sc.dt;
		if (qpv == 0)
			qpv = sc.qpv[SYNTH_TRAIN];
		shape = preset;
	} else {
		if (qpv == 0)
			qpv = 5;
		shape = "custom";
	}
	if (D % NH)
		die("--heads %d does not divide --hidden %d", NH, D);
	threads_init(jarg);

	mc.dv = dv;
	mc.dt = dt;
	mc.E = 512;
	mc.D = D;
	mc.NH = NH;
	mc.max_frames = 128;
	mc.max_tokens = 30;
	mc.dropout = 0.1f;
	if (!strcmp(branches, "dual"))
		mc.has_branch[BR_INH] = mc.has_branch[BR_EXP] = 1;
	else if (!strcmp(branches, "inh"))
		mc.has_branch[BR_INH] = 1;
	else if (!strcmp(branches, "exp"))
		mc.has_branch[BR_EXP] = 1;
	else
		die("--branches %s: expected dual, inh or exp", branches);

	/* analytic: every branch encodes the video and the query */
	for (int br = 0; br < NBRANCH; br++)
		if (mc.has_branch[br]) {
			a_video += model_flops_video(&mc, L);
			a_query += model_flops_query(&mc, T);
		}
	a_one = model_flops_video(&mc, L) + model_flops_query(&mc, T);   /* one branch */

	m = model_new(&mc);
	rng_seed(&rng, (uint64_t)seed);
	model_init(m, &rng);

	/* measured: one video of L frames and one query of T tokens through every branch */
	Nq = (int)lround(B * qpv);
	if (Nq < B)
		Nq = B;
	video = efloats((size_t)B * L * dv);
	query = efloats((size_t)Nq * T * dt);
	tau = efloats((size_t)Nq * L);
	out = efloats((size_t)MAX(L, 1) * D);
	vlen = ecalloc(B, sizeof(*vlen));
	qlen = ecalloc(Nq, sizeof(*qlen));
	qvid = ecalloc(Nq, sizeof(*qvid));
	randn(video, (size_t)B * L * dv, &rng);
	reduce_l2norm_rows(video, (long)B * L, dv);   /* as feat-reduce leaves them */
	randn(query, (size_t)Nq * T * dt, &rng);
	reduce_l2norm_rows(query, (long)Nq * T, dt);
	for (size_t i = 0; i < (size_t)Nq * L; i++)
		tau[i] = 0.5f * rng_uniform(&rng);
	int one_len = L, one_tok = T;
	layers_flops = 0;
	for (int br = 0; br < NBRANCH; br++)
		if (mc.has_branch[br]) {
			model_encode_videos(m, br, video, &one_len, 1, L, out);
			model_encode_queries(m, br, query, &one_tok, 1, T, out);
		}
	measured = layers_flops;

	/* training steps at batch B: every video full length, queries spread over the videos */
	if (train) {
		for (int b = 0; b < B; b++)
			vlen[b] = L;
		for (int q = 0; q < Nq; q++) {
			qlen[q] = T;
			qvid[q] = q % B;
		}
		bt.B = B; bt.L = L; bt.video = video; bt.vlen = vlen;
		bt.Nq = Nq; bt.T = T; bt.query = query; bt.qlen = qlen; bt.qvid = qvid;
		bt.tau = mc.has_branch[BR_INH] ? tau : NULL;
		lc.margin = 0.1f;
		lc.nce_weight = 0.04f;
		lc.hard_pool = 20;
		lc.hard_negatives = 1;
		lc.kd = mc.has_branch[BR_INH] ? KD_SIM_KL : KD_NONE;
		lc.kd_temp = 0.2f;
		lc.kd_weight = 0.1f;
		lc.kd_branch[BR_INH] = mc.has_branch[BR_INH];
		lc.train = 1;
		adam_defaults(&ac);
		t0 = now_seconds();
		for (int s = 0; s < steps; s++) {
			model_zero_grad(m);
			float loss = model_loss(m, &bt, &lc, &rng, &parts, 1);
			if (!isfinite(loss))
				die("training step %d: loss is not finite", s);
			adam_step(m, 1e-4f, &ac);
		}
		secs = (now_seconds() - t0) / steps;
	}

	printf("shape\tdv\tdt\tframes\ttokens\tbranches\tparams\tvideo_gflops\tquery_gflops\t"
	       "pair_gflops\tmeasured_gflops\tflops_rel_diff\ttwo_branch_increase_pct\tbatch\t"
	       "queries\ttrain_steps\tstep_seconds\tpeak_rss_mib\tstate_mib\n");
	printf("%s\t%d\t%d\t%d\t%d\t%s\t%zu\t%.6f\t%.6f\t%.6f\t%.6f\t%.3g\t%.3f\t%d\t%d\t%d\t%.3f\t"
	       "%.1f\t%.1f\n", shape, dv, dt, L, T, branches, model_num_params(m), a_video / 1e9,
	       a_query / 1e9, (a_video + a_query) / 1e9, measured / 1e9,
	       fabs(measured - (a_video + a_query)) / (a_video + a_query),
	       100.0 * a_one / (a_one + BACKBONE_GFLOPS * 1e9), B, Nq, train ? steps : 0, secs,
	       peak_rss_kib() / 1024.0, 4.0 * model_num_params(m) * sizeof(float) / 1048576.0);
	model_free(m);
	free(video); free(query); free(tau); free(out); free(vlen); free(qlen); free(qvid);
	if (fflush(stdout) || ferror(stdout))
		die("write <stdout>:");
	return 0;
}

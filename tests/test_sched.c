/* test_sched: lr_at_step, kd_weight_at_epoch and DL-DKD++'s alpha / beta against values
 * computed by hand (or with python3, as said where) from the formulas of doc/method.md (BERT
 * warmup_linear; exp / linear / sigmoid / fixed / none; "DL-DKD++"). */
#include <math.h>
#include <stdio.h>

#include "schedule.h"

static int failures;

static void
expect(const char *what, double got, double want)
{
	int ok = fabs(got - want) <= 1e-12 + 1e-9 * fabs(want);

	printf("%s %s: got %.15g want %.15g\n", ok ? "OK" : "NOT OK", what, got, want);
	failures += !ok;
}

int
main(void)
{
	int bad = 0;

	/* total 1000 steps, warm-up 1% = 10 steps; the first update (step 0) has lr 0 */
	expect("lr step 0", lr_at_step(2.5e-4, 0, 1000, 0.01), 0.0);
	expect("lr step 5 (half warm-up)", lr_at_step(2.5e-4, 5, 1000, 0.01), 1.25e-4);
	expect("lr step 9", lr_at_step(2.5e-4, 9, 1000, 0.01), 2.25e-4);
	expect("lr step 10 (peak)", lr_at_step(2.5e-4, 10, 1000, 0.01), 2.5e-4);
	/* x = 0.505: (0.505 - 1) / (0.01 - 1) = 0.5 */
	expect("lr step 505", lr_at_step(2.5e-4, 505, 1000, 0.01), 1.25e-4);
	/* x = 0.802: 0.198 / 0.99 = 0.2 */
	expect("lr step 802", lr_at_step(1.0, 802, 1000, 0.01), 0.2);
	expect("lr step 1000 (end)", lr_at_step(2.5e-4, 1000, 1000, 0.01), 0.0);
	expect("lr past the end", lr_at_step(2.5e-4, 1200, 1000, 0.01), 0.0);
	/* 100 steps, 10% warm-up: step 3 -> 0.03 / 0.1 */
	expect("lr warmup 0.1", lr_at_step(1.0, 3, 100, 0.1), 0.3);

	/* exponential k = 0.95, lambda 0.1: 0.95^2 = 0.9025; 0.95^10 = 0.598736939238379 */
	expect("exp e0", kd_weight_at_epoch(SCHED_EXP, 0, 0.1, 0, 0.95, 0), 0.1);
	expect("exp e2", kd_weight_at_epoch(SCHED_EXP, 2, 0.1, 0, 0.95, 0), 0.09025);
	expect("exp e10", kd_weight_at_epoch(SCHED_EXP, 10, 0.1, 0, 0.95, 0), 0.0598736939238379);
	expect("exp e2 w0", kd_weight_at_epoch(SCHED_EXP, 2, 0.1, 0.5, 0.95, 0), 0.59025);
	/* linear k = -0.01, b = 1, floor 0.05 */
	expect("linear e0", kd_weight_at_epoch(SCHED_LINEAR, 0, 0.1, 0, -0.01, 1), 0.1);
	expect("linear e50", kd_weight_at_epoch(SCHED_LINEAR, 50, 0.1, 0, -0.01, 1), 0.05);
	expect("linear e90", kd_weight_at_epoch(SCHED_LINEAR, 90, 0.1, 0, -0.01, 1), 0.01);
	expect("linear e99 (floor)", kd_weight_at_epoch(SCHED_LINEAR, 99, 0.1, 0, -0.01, 1), 0.005);
	/* sigmoid k = 800: 800 / (800 + exp(100 e / 800)); e = 8 -> exp(1), e = 80 -> exp(10) */
	expect("sigmoid e0", kd_weight_at_epoch(SCHED_SIGMOID, 0, 0.1, 0, 800, 0), 0.1 * 800 / 801);
	expect("sigmoid e8", kd_weight_at_epoch(SCHED_SIGMOID, 8, 0.1, 0, 800, 0),
	       0.0996613654017861);
	expect("sigmoid e80", kd_weight_at_epoch(SCHED_SIGMOID, 80, 0.1, 0, 800, 0),
	       0.00350470373815823);
	expect("fixed", kd_weight_at_epoch(SCHED_FIXED, 37, 0.1, 0.05, 0, 0), 0.15);
	expect("none", kd_weight_at_epoch(SCHED_NONE, 3, 0.1, 0.05, 0, 0), 0.05);
	expect("none w0 0", kd_weight_at_epoch(SCHED_NONE, 0, 0.1, 0, 0, 0), 0.0);

	/* DL-DKD++: alpha = max(0.8 rho, 0), beta = max(0.8 rho, 0.5), rho = 800 / (800 + exp(e / 8)).
	 * e = 0 by hand: 0.8 * 800 / 801 = 640 / 801. The others computed with python3:
	 * r = 800 / (800 + math.exp(100 * e / 800)); print(repr(0.8 * r)) */
	expect("alpha e0 (640/801)", softnce_alpha_at_epoch(0), 640.0 / 801.0);
	expect("beta e0 (640/801)", softnce_beta_at_epoch(0), 640.0 / 801.0);
	expect("alpha e1", softnce_alpha_at_epoch(1), 0.7988684543084956);
	expect("beta e1", softnce_beta_at_epoch(1), 0.7988684543084956);
	expect("alpha e10", softnce_alpha_at_epoch(10), 0.7965248190094087);
	expect("beta e10", softnce_beta_at_epoch(10), 0.7965248190094087);
	expect("beta e49 (last above the floor)", softnce_beta_at_epoch(49), 0.5090901574376673);
	expect("alpha e50", softnce_alpha_at_epoch(50), 0.4855794936297728);
	expect("beta e50 (floor)", softnce_beta_at_epoch(50), 0.5);
	expect("alpha e100", softnce_alpha_at_epoch(100), 0.00237796853893138);
	expect("beta e100", softnce_beta_at_epoch(100), 0.5);
	expect("alpha e119", softnce_alpha_at_epoch(119), 0.00022178345248548368);
	expect("beta e119", softnce_beta_at_epoch(119), 0.5);
	/* and every epoch of a 120-epoch run against the formula written out here */
	for (int e = 0; e < 120; e++) {
		double a = 0.8 * 800.0 / (800.0 + exp(100.0 * e / 800.0));

		bad += fabs(softnce_alpha_at_epoch(e) - a) > 1e-15;
		bad += fabs(softnce_beta_at_epoch(e) - (a > 0.5 ? a : 0.5)) > 1e-15;
	}
	expect("alpha, beta of epochs 0..119 off the formula", bad, 0);

	expect("parse exp", sched_parse("exp"), SCHED_EXP);
	expect("parse sigmoid", sched_parse("sigmoid"), SCHED_SIGMOID);
	expect("parse bad", sched_parse("cosine"), -1);
	expect("default k exp", sched_default_k(SCHED_EXP), 0.95);
	expect("default k linear", sched_default_k(SCHED_LINEAR), -0.01);
	expect("default b linear", sched_default_b(SCHED_LINEAR), 1.0);
	expect("default k sigmoid", sched_default_k(SCHED_SIGMOID), 800);
	return failures ? 1 : 0;
}

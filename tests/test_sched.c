/* test_sched: lr_at_step and kd_weight_at_epoch against values computed by hand from the
 * formulas of doc/method.md (BERT warmup_linear; exp / linear / sigmoid / fixed / none). */
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

	expect("parse exp", sched_parse("exp"), SCHED_EXP);
	expect("parse sigmoid", sched_parse("sigmoid"), SCHED_SIGMOID);
	expect("parse bad", sched_parse("cosine"), -1);
	expect("default k exp", sched_default_k(SCHED_EXP), 0.95);
	expect("default k linear", sched_default_k(SCHED_LINEAR), -0.01);
	expect("default b linear", sched_default_b(SCHED_LINEAR), 1.0);
	expect("default k sigmoid", sched_default_k(SCHED_SIGMOID), 800);
	return failures ? 1 : 0;
}

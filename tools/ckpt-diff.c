/* ckpt-diff: two checkpoints compared tensor by tensor, for the tests that hold one training
 * run against another (a data-parallel run against one process, a resumed run against an
 * uninterrupted one) and for people asking where two models part. For every tensor name and
 * every array (w, and the Adam moments m and v): the largest |a - b|, that difference relative
 * to the array's scale (its largest |value| in either checkpoint), and how many values differ
 * by more than TOL times the scale; a tensor in one checkpoint only, or of another shape, is a
 * difference too. Writes a tensor-diff stream (schemas/tensor-diff.md) or TSV; the exit status
 * says whether the two are equal within TOL. Both checkpoints are held in memory.
 * Not here: the header and config (prvr-cat -n 0 on both), the decay flags. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "idindex.h"
#include "mpio.h"
#include "schema.h"
#include "util.h"

#define MAXDIM 8              /* dims of a shape held; the model's tensors have 1 or 2 */

static const char *const arrays[] = { "w", "m", "v" };
#define NARR (int)(sizeof(arrays) / sizeof(arrays[0]))

typedef struct {
	char *name;
	long shape[MAXDIM];
	int ndim;
	size_t n;                 /* values of each array */
	float *x[NARR];
	int seen;                 /* A's tensors: B has one of this name */
} Tensor;

typedef struct {
	char *path;
	Tensor *t;
	int nt;
	IdIndex ix;               /* name -> index in t */
} Ckpt;

/* one item of the output: a tensor's array, compared or not */
typedef struct {
	const Tensor *a, *b;      /* NULL: not in that checkpoint */
	int arr;
	const char *status;
	size_t n, over;
	double max_abs, max_rel;
} Diff;

static void
help(void)
{
	printf("ckpt-diff - compare two checkpoints tensor by tensor\n"
	       "\n"
	       "usage: %s [-t TOL] [-f mp|tsv] [-o FILE] [-z] [-q] A B\n"
	       "\n"
	       "Reads two checkpoint streams (distill-step -o) and compares every tensor of the same\n"
	       "name, array by array (w, the Adam moments m and v). For each it reports the largest\n"
	       "|a - b| (max_abs), that difference over the array's scale, the largest |value| in A or\n"
	       "B (max_rel; 0 when both are all zero), and how many values differ by more than TOL x\n"
	       "scale (over). An array with over > 0 differs; so does a tensor found in one\n"
	       "checkpoint only (status only-a, only-b) or of another shape (status shape).\n"
	       "Writes a tensor-diff stream (schemas/tensor-diff.md; prvr-cat prints it), or with\n"
	       "-f tsv a line of column names, then one line per array:\n"
	       "  name  array  status  n  max_abs  max_rel  over\n"
	       "Items follow A's tensor order, then those only in B in B's order.\n"
	       "\n"
	       "  -t TOL     tolerance relative to each array's scale, 0..2 (default 0: any difference;\n"
	       "             |a - b| is at most 2 x scale)\n"
	       "  -f FMT     mp (default) or tsv\n"
	       "  -o FILE    output (default stdout; written atomically; -f mp only)\n"
	       "  -z         gzip the output stream\n"
	       "  -q         no summary on stderr\n"
	       "\n"
	       "Exit status 0 when every array is equal within TOL and the tensors agree in names\n"
	       "and shapes, 2 when they differ (the output is written either way), 1 on any error\n"
	       "(bad input, named by file and record; nothing is left at -o FILE).\n", argv0);
	exit(0);
}

/* the whole checkpoint at path, validated against its schema record by record */
static void
load(Ckpt *c, const char *path)
{
	MpReader *r = mpr_open(path);
	const msgpack_object *h = mpr_header(r, "checkpoint"), *o;
	SchemaState *s = schema_open(r, h, 1);
	size_t cap = 0;
	long *dup;

	while ((o = mpr_next(r))) {
		Tensor *t;
		schema_item(s, o);
		c->t = egrow(c->t, &cap, (size_t)c->nt + 1, sizeof(*c->t));
		t = &c->t[c->nt];
		memset(t, 0, sizeof(*t));
		t->name = mpr_strdup(r, o, "name");
		t->ndim = (int)mpr_intarray(r, o, "shape", t->shape, MAXDIM);
		/* the schema tied every array's length to prod(shape): allocate what the bytes hold */
		t->n = mpr_binlen(r, o, "w", 4) / 4;
		for (int k = 0; k < NARR; k++) {
			t->x[k] = emalloc(t->n * sizeof(float));
			mpr_f32(r, o, arrays[k], t->x[k], t->n);
		}
		if ((dup = idindex_add(&c->ix, t->name, c->nt)))
			mpr_die(r, "tensor '%s' again (first in record %ld)", t->name, *dup + 1);
		c->nt++;
	}
	schema_close(s);
	c->path = estrdup(r->name);
	mpr_close(r);
}

static void
ckpt_free(Ckpt *c)
{
	for (int i = 0; i < c->nt; i++) {
		free(c->t[i].name);
		for (int k = 0; k < NARR; k++)
			free(c->t[i].x[k]);
	}
	idindex_free(&c->ix);
	free(c->t);
	free(c->path);
}

static int
same_shape(const Tensor *a, const Tensor *b)
{
	return a->ndim == b->ndim && memcmp(a->shape, b->shape, (size_t)a->ndim * sizeof(long)) == 0;
}

static void
compare(Diff *d, double tol)
{
	const float *x = d->a->x[d->arr], *y = d->b->x[d->arr];
	double scale = 0, lim;

	for (size_t i = 0; i < d->a->n; i++) {
		scale = MAX(scale, fabs((double)x[i]));
		scale = MAX(scale, fabs((double)y[i]));
		d->max_abs = MAX(d->max_abs, fabs((double)x[i] - y[i]));
	}
	lim = tol * scale;
	for (size_t i = 0; i < d->a->n; i++)
		d->over += fabs((double)x[i] - y[i]) > lim;
	d->n = d->a->n;
	d->max_rel = scale > 0 ? d->max_abs / scale : 0;
	d->status = d->over ? "differ" : "equal";
}

static void
put_shape(MpWriter *w, const char *key, const Tensor *t)
{
	mpw_key(w, key);
	mpw_array(w, t ? (size_t)t->ndim : 0);
	for (int i = 0; t && i < t->ndim; i++)
		mpw_int(w, t->shape[i]);
}

int
main(int argc, char *argv[])
{
	const char *out = "-";
	double tol = 0, worst = 0;
	int c, gz = 0, tsv = 0;
	long ndiffer = 0;
	size_t nd = 0, cap = 0;
	Ckpt A = { 0 }, B = { 0 };
	Diff *d = NULL;

	tool_start(argc, argv, help);
	while ((c = getopt(argc, argv, ":t:f:o:zq")) != -1) {
		switch (c) {
		case 't': tol = estrtod(optarg, 0, 2); break;
		case 'f':
			if (strcmp(optarg, "mp") != 0 && strcmp(optarg, "tsv") != 0)
				usage_error("-f '%s': expected mp or tsv", optarg);
			tsv = optarg[0] == 't';
			break;
		case 'o': out = optarg; break;
		case 'z': gz = 1; break;
		case 'q': progress_quiet = 1; break;
		default: bad_option(c);
		}
	}
	if (argc - optind != 2)
		usage_error("expected two checkpoints A and B, got %d", argc - optind);
	if (tsv && (strcmp(out, "-") != 0 || gz))
		usage_error("-o and -z are for -f mp; -f tsv goes to stdout");
	check_outputs((const char *const *)argv + optind, 2, &out, 1);
	load(&A, argv[optind]);
	load(&B, argv[optind + 1]);

	/* A's tensors in order, then B's that A lacks */
	for (int i = 0; i < A.nt + B.nt; i++) {
		const Tensor *a = i < A.nt ? &A.t[i] : NULL, *b = i < A.nt ? NULL : &B.t[i - A.nt];
		long *j;
		if (a && (j = idindex_get(&B.ix, a->name)))
			b = &B.t[*j], B.t[*j].seen = 1;
		if (!a && b->seen)
			continue;
		for (int k = 0; k < NARR; k++) {
			d = egrow(d, &cap, nd + 1, sizeof(*d));
			d[nd] = (Diff){ .a = a, .b = b, .arr = k };
			if (!b)
				d[nd].status = "only-a";
			else if (!a)
				d[nd].status = "only-b";
			else if (!same_shape(a, b))
				d[nd].status = "shape";
			else
				compare(&d[nd], tol);
			ndiffer += strcmp(d[nd].status, "equal") != 0;
			worst = MAX(worst, d[nd].max_rel);
			nd++;
		}
	}

	if (tsv) {
		printf("name\tarray\tstatus\tn\tmax_abs\tmax_rel\tover\n");
		for (size_t i = 0; i < nd; i++)
			printf("%s\t%s\t%s\t%zu\t%.9g\t%.9g\t%zu\n", (d[i].a ? d[i].a : d[i].b)->name,
			       arrays[d[i].arr], d[i].status, d[i].n, d[i].max_abs, d[i].max_rel, d[i].over);
		if (fflush(stdout) || ferror(stdout))
			die("write <stdout>:");
	} else {
		MpWriter *w = mpw_open(out, gz);
		mpw_header(w, "tensor-diff", (long)nd, 4);
		mpw_kv_str(w, "a", A.path);
		mpw_kv_str(w, "b", B.path);
		mpw_kv_f64(w, "tol", tol);
		mpw_kv_int(w, "differ", ndiffer);
		mpw_record_done(w);
		for (size_t i = 0; i < nd; i++) {
			mpw_map(w, 9);
			mpw_kv_str(w, "name", (d[i].a ? d[i].a : d[i].b)->name);
			mpw_kv_str(w, "array", arrays[d[i].arr]);
			mpw_kv_str(w, "status", d[i].status);
			put_shape(w, "shape_a", d[i].a);
			put_shape(w, "shape_b", d[i].b);
			mpw_kv_int(w, "n", (long)d[i].n);
			mpw_kv_f64(w, "max_abs", d[i].max_abs);
			mpw_kv_f64(w, "max_rel", d[i].max_rel);
			mpw_kv_int(w, "over", (long)d[i].over);
			mpw_record_done(w);
		}
		mpw_close(w);
	}
	progress(1, "%s vs %s: %zu arrays, %ld differ (tolerance %g); largest relative difference %.3g",
	         A.path, B.path, nd, ndiffer, tol, worst);
	ckpt_free(&A);
	ckpt_free(&B);
	free(d);
	return ndiffer ? 2 : 0;
}

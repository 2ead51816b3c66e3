/* ptable: named tensors of a flat parameter block; see ptable.h. */
#include <stdio.h>

#include "ptable.h"
#include "util.h"

size_t
ptable_add(PTensor *t, int *nt, int max, size_t *np, const char *prefix, const char *name,
           int d0, int d1, int decay)
{
	CHECK(*nt < max);
	t = &t[(*nt)++];
	snprintf(t->name, sizeof(t->name), "%s.%s", prefix, name);
	t->ndim = d1 ? 2 : 1;
	t->shape[0] = d0;
	t->shape[1] = d1;
	t->n = (size_t)d0 * (d1 ? d1 : 1);
	t->decay = decay;
	t->off = *np;
	*np += t->n;
	return t->off;
}

ParamInfo
ptable_info(const PTensor *t, float *w, float *g, float *m, float *v)
{
	ParamInfo p;

	p.name = t->name;
	p.w = w + t->off;
	p.g = g + t->off;
	p.m = m + t->off;
	p.v = v + t->off;
	p.n = t->n;
	p.ndim = t->ndim;
	p.shape[0] = t->shape[0];
	p.shape[1] = t->shape[1];
	p.decay = t->decay;
	return p;
}

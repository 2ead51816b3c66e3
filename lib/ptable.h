/* ptable: the table of named tensors of a model whose parameters live in one flat block (llm.c
 * pattern), shared by the DL-DKD student (lib/model.c) and Dual Encoding (lib/dualenc.c): each
 * tensor is a name, an offset and a shape; ptable_add lays the next one out after the last and
 * ptable_info views it in the value, gradient and Adam blocks as a ParamInfo, the view the
 * optimiser, the checkpoint and the tests walk.
 * Not here: the blocks themselves, initialisation, anything a model does with its tensors. */
#ifndef PTABLE_H
#define PTABLE_H

#include <stddef.h>

/* one tensor of a model, in its value, gradient and Adam blocks */
typedef struct {
	const char *name;          /* e.g. "inh.video.ln_in.g" */
	float *w, *g, *m, *v;      /* value, gradient, Adam first and second moments: n floats each */
	size_t n;
	int ndim, shape[2];
	int decay;                 /* 1: weight decay applies (not biases, not LayerNorm) */
} ParamInfo;

typedef struct {
	char name[48];             /* "<prefix>.<name>", truncated to fit */
	size_t off, n;             /* offset in the block, floats */
	int ndim, shape[2], decay; /* shape (d0) when ndim 1, (d0, d1) when 2; decay as ParamInfo */
} PTensor;

/* append tensor "prefix.name" of shape (d0) (d1 0) or (d0, d1) to t[0..*nt-1] (CHECK: at most
 * max), at offset *np, which grows by its size; returns the offset */
size_t    ptable_add(PTensor *t, int *nt, int max, size_t *np, const char *prefix,
                     const char *name, int d0, int d1, int decay);
/* tensor t in the blocks w, g, m, v */
ParamInfo ptable_info(const PTensor *t, float *w, float *g, float *m, float *v);

#endif

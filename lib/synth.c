/* synth: the synthetic world; see synth.h and doc/synth.md. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cblas.h>

#include "mpio.h"
#include "rng.h"
#include "synth.h"
#include "util.h"

const char *const synth_split_name[SYNTH_NSPLIT] = { "train", "val", "test" };

/* ---- presets ---- */

typedef struct {
	const char *base;
	long videos[SYNTH_NSPLIT], queries[SYNTH_NSPLIT];
	int dv, dt;
	double frames, frames_sd;
	int frames_min, frames_max;
	double moment;
	int trimmed;
	double tokens;
	int tokens_min, tokens_max, specials;
	double domain_frac;
	/* the calibrated world (doc/synth.md, "Calibration"): concepts per factor, their cluster
	 * similarity, P(a query names an optional factor), the student's and the teacher's
	 * latent noise */
	int concepts;
	double similarity, mention, student_noise, teacher_noise;
} Preset;

/* Sizes of the real sets (doc/experiments.md); validation sizes are ours (doc/synth.md). */
static const Preset presets[] = {
	{ "tvr", { 17435, 1000, 2179 }, { 87175, 5000, 10895 }, 3072, 768,
	  50, 0.15, 20, 120, 0.12, 0, 17, 8, 40, 1, 0.4, 24, 0, 0.85, 1.5, 1.0 },
	{ "activitynet", { 9043, 1000, 4430 }, { 33721, 3729, 15753 }, 1024, 1024,
	  80, 0.5, 10, 600, 0.30, 0, 18, 8, 40, 1, 0.2, 24, 0, 0.85, 2.0, 2.5 },
	{ "charades", { 5538, 500, 1334 }, { 12408, 1120, 3720 }, 1024, 1024,
	  20, 0.3, 8, 80, 0.27, 0, 11, 8, 30, 1, 0.2, 24, 0, 0.85, 2.0, 4.0 },
	{ "msrvtt", { 6513, 497, 2990 }, { 130260, 9940, 59800 }, 2048, 500,
	  20, 0.3, 8, 60, 1.0, 1, 9, 3, 30, 0, 0.1, 48, 0.5, 0.6, 0.3, 2.75 },
};

static char preset_names[256];

const char *
synth_preset_list(void)
{
	size_t n = 0;

	if (!preset_names[0])
		for (size_t i = 0; i < sizeof(presets) / sizeof(presets[0]); i++)
			n += snprintf(preset_names + n, sizeof(preset_names) - n, "%s%s %s-small %s-tiny",
			              i ? " " : "", presets[i].base, presets[i].base, presets[i].base);
	return preset_names;
}

int
synth_preset(SynthConfig *c, const char *name)
{
	const Preset *p = NULL;
	const char *suffix = "";
	size_t n;

	for (size_t i = 0; i < sizeof(presets) / sizeof(presets[0]); i++) {
		n = strlen(presets[i].base);
		if (strncmp(name, presets[i].base, n) == 0 &&
		    (!name[n] || !strcmp(name + n, "-small") || !strcmp(name + n, "-tiny"))) {
			p = &presets[i];
			suffix = name + n;
		}
	}
	if (!p)
		return 0;
	memset(c, 0, sizeof(*c));
	snprintf(c->name, sizeof(c->name), "%s", name);
	snprintf(c->base, sizeof(c->base), "%s", p->base);
	c->seed = 1;
	for (int s = 0; s < SYNTH_NSPLIT; s++) {
		c->videos[s] = p->videos[s];
		c->qpv[s] = (double)p->queries[s] / p->videos[s];
	}
	c->dv = p->dv;
	c->dt = p->dt;
	c->de = 512;
	c->frames = p->frames;
	c->frames_sd = p->frames_sd;
	c->frames_min = p->frames_min;
	c->frames_max = p->frames_max;
	c->moment = p->moment;
	c->moment_sd = p->trimmed ? 0 : 0.4;
	c->max_events = 5;
	c->cover = 0.9;
	c->trimmed = p->trimmed;
	c->concepts = p->concepts;
	c->latent = 64;
	c->hidden = 128;
	c->zipf = 0.5;
	c->similarity = p->similarity;
	c->persist = 0.7;
	c->hard = 0.3;
	c->mention = p->mention;
	c->salience_sd = 0.25;
	c->latent_noise = 0.3;
	c->student_noise = p->student_noise;
	c->sensor_noise = 0.5;
	c->text_noise = 0.5;
	c->context = p->specials ? 0.2 : 0.0;
	c->tokens = p->tokens;
	c->tokens_sd = 0.35;
	c->tokens_min = p->tokens_min;
	c->tokens_max = p->tokens_max;
	c->specials = p->specials;
	c->synonyms = 1;
	c->fillers = 200;
	c->teacher_noise = p->teacher_noise;
	c->gap = 1.0;
	c->domain_frac = p->domain_frac;
	if (!strcmp(suffix, "-small")) {
		for (int s = 0; s < SYNTH_NSPLIT; s++)
			c->videos[s] = (p->videos[s] + 5) / 10;
	} else if (!strcmp(suffix, "-tiny")) {
		c->videos[0] = 60;
		c->videos[1] = 30;
		c->videos[2] = 30;
		c->dv = 64;
		c->dt = 48;
		c->de = 32;
		c->concepts = 8;
		c->latent = 32;
		c->hidden = 64;
		c->fillers = 40;
		/* 60 training videos: few distinct concepts and specific queries keep it learnable;
		 * the rest is the world its tests and doc/synth.md's learnability table were made in */
		c->similarity = 0;
		c->mention = 0.7;
		c->student_noise = 0.3;
		c->teacher_noise = 1.0;
	}
	return 1;
}

long
synth_queries(const SynthConfig *c, int s)
{
	return lround(c->videos[s] * c->qpv[s]);
}

void
synth_validate(const SynthConfig *c)
{
	for (int s = 0; s < SYNTH_NSPLIT; s++) {
		long q = synth_queries(c, s);
		if (c->videos[s] < 1)
			die("%s: %s split needs at least one video", c->name, synth_split_name[s]);
		if (q < c->videos[s])
			die("%s: %s split: %ld queries for %ld videos (every video needs a query)",
			    c->name, synth_split_name[s], q, c->videos[s]);
		if (q > (1L << 30))
			die("%s: %s split: too many queries (%ld)", c->name, synth_split_name[s], q);
	}
	if (c->frames_min < 1 || c->frames_max < c->frames_min)
		die("%s: frame range [%d, %d] is empty", c->name, c->frames_min, c->frames_max);
	if (c->tokens_min < 1 + 2 * c->specials || c->tokens_max < c->tokens_min)
		die("%s: token range [%d, %d] is invalid", c->name, c->tokens_min, c->tokens_max);
	if (c->concepts < 2)
		die("%s: need at least 2 concepts per factor", c->name);
	if (c->tokens_max > 64)
		die("%s: at most 64 tokens per query", c->name);
	if (c->fillers < 1 || c->synonyms < 1 || c->latent < 1 || c->hidden < 1)
		die("%s: fillers, synonyms, latent and hidden must be positive", c->name);
	if (c->moment <= 0 || c->moment > 1)
		die("%s: moment ratio %g not in (0, 1]", c->name, c->moment);
}

/* ---- randomness ---- */

static uint64_t
mix64(uint64_t z)
{
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* independent stream for (seed, a, b): a = 0 world, 1 + split structure, 8 + split videos */
static void
seed_stream(Rng *r, uint64_t seed, uint64_t a, uint64_t b)
{
	rng_seed(r, mix64(seed + 0x9e3779b97f4a7c15ULL * (mix64(a + 1) ^ mix64(b + 0x632be59bd9b4e019ULL))));
}

/* approximately standard normal: sum of four 16-bit uniforms, rescaled (bounded at 3.46;
 * one 64-bit draw per sample, for the bulk noise of features) */
static inline float
fast_normal(Rng *r)
{
	uint64_t u = rng_u64(r);
	float s = (float)((u & 0xffff) + ((u >> 16) & 0xffff) + ((u >> 32) & 0xffff) + (u >> 48));

	return (s - 131070.0f) * (1.7320508f / 65536.0f);
}

static void
add_noise(Rng *r, float *x, long n, float sd)
{
	if (sd <= 0)
		return;
	for (long i = 0; i < n; i++)
		x[i] += sd * fast_normal(r);
}

static float
lognormal(Rng *r, double mean, double sd)
{
	return (float)(mean * exp(sd * rng_normal(r) - 0.5 * sd * sd));
}

/* index drawn from the cumulative distribution cdf[0..n-1] (cdf[n-1] = 1) */
static int
draw_cdf(Rng *r, const float *cdf, int n)
{
	float u = rng_uniform(r);
	int lo = 0, hi = n - 1;

	while (lo < hi) {
		int mid = (lo + hi) / 2;
		if (cdf[mid] > u)
			hi = mid;
		else
			lo = mid + 1;
	}
	return lo;
}

static float *
zipf_cdf(int n, double s)
{
	float *cdf = efloats((size_t)n);
	double tot = 0, acc = 0;

	for (int i = 0; i < n; i++)
		tot += pow(i + 1.0, -s);
	for (int i = 0; i < n; i++) {
		acc += pow(i + 1.0, -s);
		cdf[i] = (float)(acc / tot);
	}
	cdf[n - 1] = 1.0f;
	return cdf;
}

/* ---- the world ---- */

struct SynthWorld {
	SynthConfig c;
	int K, H, NC, V;           /* latent dim, hidden units, concepts (all factors), vocabulary */
	float *vc;                 /* (NC, K) true concept vectors, norm ~1 */
	float *ui, *ut;            /* (NC, K) the teacher's image and text view of each concept */
	unsigned char *dom;        /* (NC) domain-specific concept */
	float *W1, *b1, *mu;       /* (H, K), (H), (H): student map first layer, centring */
	float *W2;                 /* (dv, H) second layer, scaled so outputs have RMS 1 */
	float *T;                  /* (de, K) teacher map */
	float *E;                  /* (V, dt) word embeddings */
	float *ccdf, *fcdf;        /* concept and filler frequencies */
};

/* word ids: concept words first, then fillers, then <s>, </s> */
static int word_concept(const SynthWorld *w, int f, int c, int k) { return ((f * w->c.concepts) + c) * w->c.synonyms + k; }
static int word_filler(const SynthWorld *w, int i) { return w->NC * w->c.synonyms + i; }

static void
randn(Rng *r, float *x, long n, float sd)
{
	for (long i = 0; i < n; i++)
		x[i] = sd * rng_normal(r);
}

/* relu(Z W1^T + b1) - mu: Z (n, K) -> A (n, H) */
static void
student_hidden(const SynthWorld *w, const float *Z, float *A, int n)
{
	int H = w->H, K = w->K;

	for (int t = 0; t < n; t++)
		memcpy(A + (size_t)t * H, w->b1, H * sizeof(float));
	cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, H, K, 1.0f, Z, K, w->W1, K, 1.0f, A, H);
	for (long i = 0; i < (long)n * H; i++)
		A[i] = (A[i] > 0 ? A[i] : 0) - w->mu[i % H];
}

SynthWorld *
synth_world(const SynthConfig *c)
{
	SynthWorld *w = ecalloc(1, sizeof(*w));
	int K = c->latent, H = c->hidden, NC = SYNTH_FACTORS * c->concepts, NS = 4096;
	float a = (float)sqrt(1 - c->gap * c->gap), g = (float)c->gap, sk = (float)(1 / sqrt(K));
	float *Z, *A;
	double ss = 0;
	Rng r;

	w->c = *c;
	w->K = K;
	w->H = H;
	w->NC = NC;
	w->V = NC * c->synonyms + c->fillers + 2;
	seed_stream(&r, c->seed, 0, 0);
	w->vc = efloats((size_t)NC * K);
	w->ui = efloats((size_t)NC * K);
	w->ut = efloats((size_t)NC * K);
	w->dom = ecalloc((size_t)NC, 1);
	/* concepts of a factor come in clusters of 4 (walk, run, jog, stroll): each vector is
	 * sqrt(similarity) x its cluster centre + sqrt(1 - similarity) x its own direction, so
	 * cluster mates have cosine ~ similarity: near misses for student and teacher alike */
	randn(&r, w->vc, (long)NC * K, sk);
	{
		float *ctr = efloats((size_t)K);
		float a1 = (float)sqrt(c->similarity), a2 = (float)sqrt(1 - c->similarity);
		for (int i = 0; i < NC; i++) {
			if (i % c->concepts % 4 == 0)
				randn(&r, ctr, K, sk);
			for (int k = 0; k < K; k++)
				w->vc[(size_t)i * K + k] = a1 * ctr[k] + a2 * w->vc[(size_t)i * K + k];
		}
		free(ctr);
	}
	for (int i = 0; i < NC; i++) {
		float *v = w->vc + (size_t)i * K, *pi = w->ui + (size_t)i * K, *pt = w->ut + (size_t)i * K;
		w->dom[i] = rng_uniform(&r) < c->domain_frac;
		for (int k = 0; k < K; k++) {
			/* drawn for every concept so the domain flags do not shift the other draws */
			float ri = sk * rng_normal(&r), rt = sk * rng_normal(&r);
			pi[k] = w->dom[i] ? a * v[k] + g * ri : v[k];
			pt[k] = w->dom[i] ? a * v[k] + g * rt : v[k];
		}
	}
	/* student map: pre-activations of unit variance scale ~ |z|, biases N(0,1): about half the
	 * units active, a genuinely nonlinear map */
	w->W1 = efloats((size_t)H * K);
	w->b1 = efloats((size_t)H);
	w->mu = efloats((size_t)H);
	w->W2 = efloats((size_t)c->dv * H);
	randn(&r, w->W1, (long)H * K, 1.0f);
	randn(&r, w->b1, H, 1.0f);
	randn(&r, w->W2, (long)c->dv * H, 1.0f);
	w->T = efloats((size_t)c->de * K);
	randn(&r, w->T, (long)c->de * K, 1.0f);
	w->E = efloats((size_t)w->V * c->dt);
	randn(&r, w->E, (long)w->V * c->dt, 1.0f);
	w->ccdf = zipf_cdf(c->concepts, c->zipf);
	w->fcdf = zipf_cdf(c->fillers > 0 ? c->fillers : 1, 1.0);

	/* centring: mu = mean hidden activation over sample frames (events and background alike),
	 * so student features have no dominant mean direction; then scale W2 so that the clean
	 * features have per-element RMS 1 */
	Z = efloats((size_t)NS * K);
	A = efloats((size_t)NS * H);
	/* background share of the sample: what the preset's layout leaves uncovered */
	double bgfrac = c->trimmed ? 0 : MAX(0.1, 1 - MIN(c->cover, c->max_events * c->moment));
	for (int t = 0; t < NS; t++) {
		float *z = Z + (size_t)t * K;
		int bg = (t + 0.5) / NS < bgfrac;
		for (int f = 0; f < SYNTH_FACTORS; f++) {
			float s;
			if (bg && (f == F_ACTION || f == F_OBJECT))
				continue;
			s = (bg && f == F_SUBJECT ? 0.5f : 1.0f) *
			    (1 + (float)c->salience_sd * rng_normal(&r));
			const float *v = w->vc + (size_t)(f * c->concepts + draw_cdf(&r, w->ccdf, c->concepts)) * K;
			for (int k = 0; k < K; k++)
				z[k] += s * v[k];
		}
		for (int k = 0; k < K; k++)
			z[k] += (float)(c->latent_noise + c->student_noise) * sk * rng_normal(&r);
	}
	student_hidden(w, Z, A, NS);     /* mu is still 0 here */
	for (int t = 0; t < NS; t++)
		for (int h = 0; h < H; h++)
			w->mu[h] += A[(size_t)t * H + h] / NS;
	for (int t = 0; t < NS; t++)
		for (int h = 0; h < H; h++) {
			double d = A[(size_t)t * H + h] - w->mu[h];
			ss += d * d / NS;
		}
	for (long i = 0; i < (long)c->dv * H; i++)
		w->W2[i] *= (float)(1 / sqrt(ss > 0 ? ss : 1));
	free(Z);
	free(A);
	return w;
}

void
synth_world_free(SynthWorld *w)
{
	if (!w)
		return;
	free(w->vc); free(w->ui); free(w->ut); free(w->dom);
	free(w->W1); free(w->b1); free(w->mu); free(w->W2); free(w->T); free(w->E);
	free(w->ccdf); free(w->fcdf);
	free(w);
}

/* ---- structure of a split ---- */

static int
draw_concept(Rng *r, const float *cdf, int n)
{
	return draw_cdf(r, cdf, n);
}

/* lay out nev events in n clips: lengths ~ moment * n (lognormal), total at most cover * n,
 * background frames spread over the nev + 1 gaps */
static void
layout(const SynthConfig *c, Rng *r, SynthEvent *e, int nev, int n)
{
	int len[64], gap[65], tot = 0, cap = (int)floor(c->cover * n), pos = 0;

	if (c->trimmed) {
		e[0].start = 0;
		e[0].end = n;
		return;
	}
	if (cap < nev)
		cap = nev;
	for (int i = 0; i < nev; i++) {
		int l = (int)lround(lognormal(r, c->moment * n, c->moment_sd));
		len[i] = MAX(1, MIN(l, n));
		tot += len[i];
	}
	if (tot > cap) {
		int t2 = 0;
		for (int i = 0; i < nev; i++) {
			len[i] = MAX(1, (int)((double)len[i] * cap / tot));
			t2 += len[i];
		}
		tot = t2;
		while (tot > cap) {          /* rounding up to 1 clip can overshoot: trim the longest */
			int j = 0;
			for (int i = 1; i < nev; i++)
				if (len[i] > len[j])
					j = i;
			CHECK(len[j] > 1);
			len[j]--;
			tot--;
		}
	}
	CHECK(tot <= n);
	for (int i = 0; i <= nev; i++)
		gap[i] = 0;
	for (int i = 0; i < n - tot; i++)
		gap[rng_below(r, (uint32_t)nev + 1)]++;
	for (int i = 0; i < nev; i++) {
		pos += gap[i];
		e[i].start = pos;
		pos += len[i];
		e[i].end = pos;
	}
	CHECK(pos + gap[nev] == n);
}

SynthSplit *
synth_split(const SynthConfig *c, int s)
{
	SynthSplit *sp = ecalloc(1, sizeof(*sp));
	long nv = c->videos[s], nq = synth_queries(c, s), base = nq / nv, rem = nq % nv, ne = 0, qi = 0;
	int *perm = emalloc((size_t)nv * sizeof(int)), evperm[64];
	int maxev = c->trimmed ? 1 : MAX(1, MIN(c->max_events, (int)floor(c->cover / c->moment)));
	float *ccdf = zipf_cdf(c->concepts, c->zipf);
	Rng r;

	CHECK(maxev <= 64);
	seed_stream(&r, c->seed, 1 + (uint64_t)s, 0);
	sp->split = s;
	sp->nv = nv;
	sp->nq = nq;
	sp->v = ecalloc((size_t)nv, sizeof(*sp->v));
	sp->q = ecalloc((size_t)nq, sizeof(*sp->q));
	sp->e = ecalloc((size_t)nv * maxev, sizeof(*sp->e));
	for (long i = 0; i < nv; i++)
		perm[i] = (int)i;
	rng_shuffle(&r, perm, (int)nv);
	for (long i = 0; i < rem; i++)
		sp->v[perm[i]].nq = 1;
	for (long vi = 0; vi < nv; vi++) {
		SynthVideo *v = &sp->v[vi];
		int n = (int)lround(lognormal(&r, c->frames, c->frames_sd));
		v->n = MAX(c->frames_min, MIN(c->frames_max, n));
		v->nq += (int)base;
		v->nev = MIN(MIN(maxev, v->nq), v->n);
		v->ev0 = (int)ne;
		v->q0 = qi;
		v->setting[0] = draw_concept(&r, ccdf, c->concepts);
		v->setting[1] = draw_concept(&r, ccdf, c->concepts);
		for (int k = 0; k < v->nev; k++) {
			SynthEvent *e = &sp->e[ne + k];
			if (vi > 0 && rng_uniform(&r) < c->hard) {
				/* near copy of another video's event: same tuple, 1..3 factors redrawn */
				const SynthVideo *u = &sp->v[rng_below(&r, (uint32_t)vi)];
				int fac[SYNTH_FACTORS] = { 0, 1, 2, 3 }, nre = 1 + (int)rng_below(&r, SYNTH_FACTORS - 1);
				*e = sp->e[u->ev0 + (int)rng_below(&r, (uint32_t)u->nev)];
				rng_shuffle(&r, fac, SYNTH_FACTORS);
				for (int j = 0; j < nre; j++) {
					int old = e->c[fac[j]];
					for (int tries = 0; tries < 8 && e->c[fac[j]] == old; tries++)
						e->c[fac[j]] = draw_concept(&r, ccdf, c->concepts);
				}
			} else {
				e->c[F_SUBJECT] = rng_uniform(&r) < c->persist ? v->setting[0] : draw_concept(&r, ccdf, c->concepts);
				e->c[F_ACTION] = draw_concept(&r, ccdf, c->concepts);
				e->c[F_OBJECT] = draw_concept(&r, ccdf, c->concepts);
				e->c[F_PLACE] = rng_uniform(&r) < c->persist ? v->setting[1] : draw_concept(&r, ccdf, c->concepts);
			}
		}
		layout(c, &r, &sp->e[ne], v->nev, v->n);
		/* queries go round the events in a random order: every event gets one before any
		 * gets a second */
		for (int k = 0; k < v->nev; k++)
			evperm[k] = k;
		rng_shuffle(&r, evperm, v->nev);
		for (int k = 0; k < v->nq; k++, qi++) {
			SynthQuery *q = &sp->q[qi];
			int m = 1, t;
			q->video = (int)vi;
			q->event = (int)ne + evperm[k % v->nev];
			q->mask = 1 << F_ACTION;
			for (int f = 0; f < SYNTH_FACTORS; f++)
				if (f != F_ACTION && rng_uniform(&r) < c->mention) {
					q->mask |= 1 << f;
					m++;
				}
			t = (int)lround(lognormal(&r, c->tokens, c->tokens_sd));
			q->ntok = MAX(MAX(c->tokens_min, m + 2 * c->specials), MIN(c->tokens_max, t));
		}
		ne += v->nev;
	}
	CHECK(qi == nq);
	sp->ne = ne;
	free(perm);
	free(ccdf);
	return sp;
}

void
synth_split_free(SynthSplit *sp)
{
	if (!sp)
		return;
	free(sp->v);
	free(sp->e);
	free(sp->q);
	free(sp);
}

void
synth_split_max(const SynthSplit *sp, int *max_n, long *max_tok, int *max_nq)
{
	*max_n = 1;
	*max_tok = 1;
	*max_nq = 1;
	for (long vi = 0; vi < sp->nv; vi++) {
		const SynthVideo *v = &sp->v[vi];
		long tok = 0;
		for (int k = 0; k < v->nq; k++)
			tok += sp->q[v->q0 + k].ntok;
		*max_n = MAX(*max_n, v->n);
		*max_tok = MAX(*max_tok, tok);
		*max_nq = MAX(*max_nq, v->nq);
	}
}

/* ---- features of one video ---- */

void
synth_video(const SynthWorld *w, const SynthSplit *sp, long vi,
            float *xs, float *xe, float *tok, float *qe)
{
	const SynthConfig *c = &w->c;
	const SynthVideo *v = &sp->v[vi];
	int K = w->K, n = v->n, dt = c->dt;
	float sk = (float)(1 / sqrt(K)), *Z, *U, *A, *mean;
	Rng r;

	seed_stream(&r, c->seed, 8 + (uint64_t)sp->split, (uint64_t)vi);
	Z = efloats((size_t)n * K);     /* true content, what the student sees */
	U = efloats((size_t)n * K);     /* the teacher's view of the same clips */
	A = efloats((size_t)n * w->H);
	mean = efloats((size_t)dt);

	/* latent frames: an event's frames hold its four concepts with jittered salience;
	 * background frames hold the video's setting (subject faintly, place) */
	for (int t = 0, ev = 0; t < n; t++) {
		float *z = Z + (size_t)t * K, *u = U + (size_t)t * K;
		const SynthEvent *e = NULL;
		int cs[SYNTH_FACTORS];
		float sal[SYNTH_FACTORS];

		while (ev < v->nev && sp->e[v->ev0 + ev].end <= t)
			ev++;
		if (ev < v->nev && sp->e[v->ev0 + ev].start <= t)
			e = &sp->e[v->ev0 + ev];
		for (int f = 0; f < SYNTH_FACTORS; f++) {
			sal[f] = MAX(0.0f, 1 + (float)c->salience_sd * rng_normal(&r));
			cs[f] = e ? e->c[f] : -1;
		}
		if (!e) {
			cs[F_SUBJECT] = v->setting[0];
			cs[F_PLACE] = v->setting[1];
			sal[F_SUBJECT] *= 0.5f;
		}
		for (int f = 0; f < SYNTH_FACTORS; f++) {
			if (cs[f] < 0)
				continue;
			size_t off = (size_t)(f * c->concepts + cs[f]) * K;
			for (int k = 0; k < K; k++) {
				z[k] += sal[f] * w->vc[off + k];
				u[k] += sal[f] * w->ui[off + k];
			}
		}
		for (int k = 0; k < K; k++) {
			float eps = (float)c->latent_noise * sk * rng_normal(&r);
			z[k] += eps;
			u[k] += eps + (float)c->teacher_noise * sk * rng_normal(&r);
		}
	}
	/* teacher frames: C = U T^T, (n, de) */
	cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, c->de, K, 1.0f, U, K, w->T, K, 0.0f, xe, c->de);
	/* student frames: X = (relu(Zs W1^T + b1) - mu) W2^T + sensor noise, (n, dv) */
	for (long i = 0; i < (long)n * K; i++)
		Z[i] += (float)c->student_noise * sk * rng_normal(&r);
	student_hidden(w, Z, A, n);
	cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, c->dv, w->H, 1.0f, A, w->H, w->W2, w->H, 0.0f, xs, c->dv);
	add_noise(&r, xs, (long)n * c->dv, (float)c->sensor_noise);

	/* queries: words naming the mentioned concepts in factor order among filler words */
	for (int k = 0; k < v->nq; k++) {
		const SynthQuery *q = &sp->q[v->q0 + k];
		const SynthEvent *e = &sp->e[q->event];
		int nt = q->ntok, words[64], first = c->specials, last = nt - c->specials, m = 0, slot[SYNTH_FACTORS];
		float *u = U;          /* reuse row 0 of U as the teacher's text latent */

		CHECK(nt <= 64);
		for (int i = 0; i < nt; i++)
			words[i] = word_filler(w, draw_cdf(&r, w->fcdf, MAX(c->fillers, 1)));
		if (c->specials) {
			words[0] = word_filler(w, c->fillers);
			words[nt - 1] = word_filler(w, c->fillers + 1);
		}
		for (int f = 0; f < SYNTH_FACTORS; f++)
			if (q->mask >> f & 1)
				slot[m++] = f;
		/* m distinct positions in [first, last), in increasing order (selection sampling) */
		for (int i = first, need = m, j = 0; i < last && need > 0; i++)
			if (rng_below(&r, (uint32_t)(last - i)) < (uint32_t)need) {
				int f = slot[j++];
				words[i] = word_concept(w, f, e->c[f], (int)rng_below(&r, (uint32_t)c->synonyms));
				need--;
			}
		memset(mean, 0, (size_t)dt * sizeof(float));
		for (int i = 0; i < nt; i++)
			for (int j = 0; j < dt; j++)
				mean[j] += w->E[(size_t)words[i] * dt + j] / nt;
		for (int i = 0; i < nt; i++) {
			const float *ew = w->E + (size_t)words[i] * dt;
			for (int j = 0; j < dt; j++)
				tok[j] = (float)(1 - c->context) * ew[j] + (float)c->context * mean[j];
			add_noise(&r, tok, dt, (float)c->text_noise);
			tok += dt;
		}
		/* teacher text: its text view of the named concepts, noisy, through the same map */
		memset(u, 0, (size_t)K * sizeof(float));
		for (int f = 0; f < SYNTH_FACTORS; f++)
			if (q->mask >> f & 1) {
				size_t off = (size_t)(f * c->concepts + e->c[f]) * K;
				for (int j = 0; j < K; j++)
					u[j] += w->ut[off + j];
			}
		for (int j = 0; j < K; j++)
			u[j] += (float)c->teacher_noise * sk * rng_normal(&r);
		cblas_sgemv(CblasRowMajor, CblasNoTrans, c->de, K, 1.0f, w->T, K, u, 1, 0.0f, qe + (size_t)k * c->de, 1);
	}
	free(Z);
	free(U);
	free(A);
	free(mean);
}

void
synth_video_id(const SynthConfig *c, int s, long vi, char *buf, size_t size)
{
	snprintf(buf, size, "%s_%s_%06ld", c->base, synth_split_name[s], vi);
}

/* ---- the corpus directory ---- */

static void
write_knobs(MpWriter *w, const SynthConfig *c)
{
	mpw_key(w, "knobs");
	mpw_map(w, 34);
	mpw_kv_f64(w, "qpv_train", c->qpv[0]);
	mpw_kv_f64(w, "qpv_val", c->qpv[1]);
	mpw_kv_f64(w, "qpv_test", c->qpv[2]);
	mpw_kv_f64(w, "frames", c->frames);
	mpw_kv_f64(w, "frames_sd", c->frames_sd);
	mpw_kv_int(w, "frames_min", c->frames_min);
	mpw_kv_int(w, "frames_max", c->frames_max);
	mpw_kv_f64(w, "moment", c->moment);
	mpw_kv_f64(w, "moment_sd", c->moment_sd);
	mpw_kv_int(w, "max_events", c->max_events);
	mpw_kv_f64(w, "cover", c->cover);
	mpw_kv_bool(w, "trimmed", c->trimmed);
	mpw_kv_int(w, "concepts", c->concepts);
	mpw_kv_int(w, "latent", c->latent);
	mpw_kv_int(w, "hidden", c->hidden);
	mpw_kv_f64(w, "zipf", c->zipf);
	mpw_kv_f64(w, "similarity", c->similarity);
	mpw_kv_f64(w, "persist", c->persist);
	mpw_kv_f64(w, "hard", c->hard);
	mpw_kv_f64(w, "mention", c->mention);
	mpw_kv_f64(w, "salience_sd", c->salience_sd);
	mpw_kv_f64(w, "latent_noise", c->latent_noise);
	mpw_kv_f64(w, "student_noise", c->student_noise);
	mpw_kv_f64(w, "sensor_noise", c->sensor_noise);
	mpw_kv_f64(w, "text_noise", c->text_noise);
	mpw_kv_f64(w, "context", c->context);
	mpw_kv_f64(w, "tokens", c->tokens);
	mpw_kv_f64(w, "tokens_sd", c->tokens_sd);
	mpw_kv_int(w, "tokens_min", c->tokens_min);
	mpw_kv_int(w, "tokens_max", c->tokens_max);
	mpw_kv_int(w, "synonyms", c->synonyms);
	mpw_kv_f64(w, "teacher_noise", c->teacher_noise);
	mpw_kv_f64(w, "gap", c->gap);
	mpw_kv_f64(w, "domain_frac", c->domain_frac);
}

static void
feature_header(MpWriter *w, const char *kind, long count, const char *role, int dim, int s)
{
	mpw_header(w, kind, count, 5);
	mpw_kv_str(w, "role", role);
	mpw_kv_int(w, "dim", dim);
	mpw_kv_str(w, "split", synth_split_name[s]);
	mpw_kv_bool(w, "reduced", 0);
	mpw_kv_bool(w, "normalized", 0);
	mpw_record_done(w);
}

enum { VS, VE, QS, QE, NFILE };
static const char *const file_suffix[NFILE] = {
	"video-student", "video-teacher", "query-student", "query-teacher"
};

long long
synth_write(const SynthConfig *c, const char *dir, int gzip)
{
	SynthSplit *sp[SYNTH_NSPLIT];
	MpWriter *cw, *fw[SYNTH_NSPLIT][NFILE];
	char path[4096], vid[64], qid[96];
	SynthWorld *w;
	long total = 0;
	long long bytes = 0;
	struct stat st;

	synth_validate(c);
	w = synth_world(c);
	for (int s = 0; s < SYNTH_NSPLIT; s++) {
		sp[s] = synth_split(c, s);
		total += sp[s]->nq;
	}

	/* corpus.mp: what the corpus is, and every query's ground-truth moment */
	snprintf(path, sizeof(path), "%s/corpus.mp", dir);
	cw = mpw_open(path, gzip);
	mpw_header(cw, "corpus", total, 6);
	mpw_kv_str(cw, "name", c->name);
	mpw_kv_str(cw, "source", "synthetic");
	mpw_kv_int(cw, "seed", (long)c->seed);
	mpw_key(cw, "dims");
	mpw_map(cw, 4);
	mpw_kv_int(cw, "video_student", c->dv);
	mpw_kv_int(cw, "video_teacher", c->de);
	mpw_kv_int(cw, "query_student", c->dt);
	mpw_kv_int(cw, "query_teacher", c->de);
	mpw_key(cw, "splits");
	mpw_map(cw, SYNTH_NSPLIT);
	for (int s = 0; s < SYNTH_NSPLIT; s++) {
		mpw_key(cw, synth_split_name[s]);
		mpw_map(cw, 2);
		mpw_kv_int(cw, "videos", sp[s]->nv);
		mpw_kv_int(cw, "queries", sp[s]->nq);
	}
	write_knobs(cw, c);
	mpw_record_done(cw);
	for (int s = 0; s < SYNTH_NSPLIT; s++)
		for (long vi = 0; vi < sp[s]->nv; vi++) {
			const SynthVideo *v = &sp[s]->v[vi];
			synth_video_id(c, s, vi, vid, sizeof(vid));
			for (int k = 0; k < v->nq; k++) {
				const SynthEvent *e = &sp[s]->e[sp[s]->q[v->q0 + k].event];
				snprintf(qid, sizeof(qid), "%s#enc#%d", vid, k);
				mpw_map(cw, 5);
				mpw_kv_str(cw, "split", synth_split_name[s]);
				mpw_kv_str(cw, "id", qid);
				mpw_kv_str(cw, "video", vid);
				mpw_kv_int(cw, "start", e->start);
				mpw_kv_int(cw, "end", e->end);
				mpw_record_done(cw);
			}
		}

	/* features: every writer stays open (as NAME.tmp.PID) until all are complete */
	for (int s = 0; s < SYNTH_NSPLIT; s++) {
		int max_n, max_nq;
		long max_tok, done = 0;
		float *xs, *xe, *tok, *qe;

		for (int f = 0; f < NFILE; f++) {
			snprintf(path, sizeof(path), "%s/%s-%s.mp", dir, synth_split_name[s], file_suffix[f]);
			fw[s][f] = mpw_open(path, gzip);
		}
		feature_header(fw[s][VS], "video-features", sp[s]->nv, "student", c->dv, s);
		feature_header(fw[s][VE], "video-features", sp[s]->nv, "teacher", c->de, s);
		feature_header(fw[s][QS], "query-features", sp[s]->nq, "student", c->dt, s);
		feature_header(fw[s][QE], "query-features", sp[s]->nq, "teacher", c->de, s);
		synth_split_max(sp[s], &max_n, &max_tok, &max_nq);
		xs = efloats((size_t)max_n * c->dv);
		xe = efloats((size_t)max_n * c->de);
		tok = efloats((size_t)max_tok * c->dt);
		qe = efloats((size_t)max_nq * c->de);
		for (long vi = 0; vi < sp[s]->nv; vi++) {
			const SynthVideo *v = &sp[s]->v[vi];
			const float *tk = tok;

			synth_video(w, sp[s], vi, xs, xe, tok, qe);
			synth_video_id(c, s, vi, vid, sizeof(vid));
			for (int f = VS; f <= VE; f++) {
				mpw_map(fw[s][f], 3);
				mpw_kv_str(fw[s][f], "id", vid);
				mpw_kv_int(fw[s][f], "n", v->n);
				if (f == VS)
					mpw_kv_f32(fw[s][f], "x", xs, (size_t)v->n * c->dv);
				else
					mpw_kv_f32(fw[s][f], "x", xe, (size_t)v->n * c->de);
				mpw_record_done(fw[s][f]);
			}
			for (int k = 0; k < v->nq; k++) {
				int nt = sp[s]->q[v->q0 + k].ntok;
				snprintf(qid, sizeof(qid), "%s#enc#%d", vid, k);
				mpw_map(fw[s][QS], 4);
				mpw_kv_str(fw[s][QS], "id", qid);
				mpw_kv_str(fw[s][QS], "video", vid);
				mpw_kv_int(fw[s][QS], "n", nt);
				mpw_kv_f32(fw[s][QS], "x", tk, (size_t)nt * c->dt);
				mpw_record_done(fw[s][QS]);
				tk += (size_t)nt * c->dt;
				mpw_map(fw[s][QE], 4);
				mpw_kv_str(fw[s][QE], "id", qid);
				mpw_kv_str(fw[s][QE], "video", vid);
				mpw_kv_int(fw[s][QE], "n", 1);
				mpw_kv_f32(fw[s][QE], "x", qe + (size_t)k * c->de, (size_t)c->de);
				mpw_record_done(fw[s][QE]);
			}
			done++;
			progress(0, "%s: %s %ld/%ld videos", c->name, synth_split_name[s], done, sp[s]->nv);
		}
		free(xs);
		free(xe);
		free(tok);
		free(qe);
	}

	/* rename into place: corpus.mp last, so its presence marks a complete directory */
	for (int s = 0; s < SYNTH_NSPLIT; s++)
		for (int f = 0; f < NFILE; f++) {
			snprintf(path, sizeof(path), "%s/%s-%s.mp", dir, synth_split_name[s], file_suffix[f]);
			mpw_close(fw[s][f]);
			if (stat(path, &st))
				die("stat %s:", path);
			bytes += st.st_size;
		}
	snprintf(path, sizeof(path), "%s/corpus.mp", dir);
	mpw_close(cw);
	if (stat(path, &st))
		die("stat %s:", path);
	bytes += st.st_size;
	for (int s = 0; s < SYNTH_NSPLIT; s++)
		synth_split_free(sp[s]);
	synth_world_free(w);
	return bytes;
}

/* synth: the synthetic world behind prvr-synth (doc/synth.md is its description).
 *
 * A world is a compositional concept space (4 factors: subject, action, object, place; C
 * concepts each, Zipf frequencies) with a latent vector per concept, a fixed nonlinear student
 * map latent -> student frame features (centred, noisy), a teacher with its own linear map whose
 * image and text views agree on general concepts and disagree on domain-specific ones (the domain
 * gap), and a word vocabulary (concept words, filler words, <s> </s>) with random per-word token
 * embeddings. A split is a list of untrimmed videos, each a sequence of events (one concept per
 * factor) separated by background frames, and queries that each name some of one event's
 * concepts. Everything is a function of the seed: the world of (seed, world knobs), the structure of a split
 * of (seed, split), the features of one video and its queries of (seed, split, video index), so
 * output does not depend on threads, on the order of generation or on other splits' sizes.
 *
 * Not here: command-line parsing (tools/prvr-synth.c); reduction and normalisation (reduce,
 * feat-reduce). The files written are RAW features, as the real released ones. */
#ifndef SYNTH_H
#define SYNTH_H

#include <stdint.h>

enum { SYNTH_TRAIN = 0, SYNTH_VAL = 1, SYNTH_TEST = 2, SYNTH_NSPLIT = 3 };
enum { SYNTH_FACTORS = 4 };   /* subject, action, object, place */
enum { F_SUBJECT = 0, F_ACTION = 1, F_OBJECT = 2, F_PLACE = 3 };

extern const char *const synth_split_name[SYNTH_NSPLIT];

typedef struct {
	char name[32];              /* preset, e.g. "tvr-small" */
	char base[16];              /* id prefix, e.g. "tvr" */
	uint64_t seed;
	long videos[SYNTH_NSPLIT];  /* videos per split */
	double qpv[SYNTH_NSPLIT];   /* mean queries per video per split (total = round(videos * qpv)) */
	int dv, dt, de;             /* student video dim, student token dim, teacher dim */
	/* video lengths (raw clips): lognormal with this mean and log-sigma, clamped */
	double frames, frames_sd;
	int frames_min, frames_max;
	/* events */
	double moment, moment_sd;   /* mean moment / video length ratio; lognormal log-sigma */
	int max_events;             /* events per video at most (also at most its queries) */
	double cover;               /* events cover at most this fraction of a video */
	int trimmed;                /* 1: one event = the whole clip, no background (MSR-VTT) */
	/* concept space */
	int concepts;               /* concepts per factor */
	int latent;                 /* latent dimension K */
	int hidden;                 /* hidden units H of the student map */
	double zipf;                /* concept frequency exponent (0 = uniform) */
	double similarity;          /* concepts come in clusters of 4 sharing this much of their vector */
	double persist;             /* P(an event keeps the video's subject / place) */
	double hard;                /* P(an event is a near copy of another video's event) */
	double mention;             /* P(a query names subject / object / place); action always */
	double salience_sd;         /* per-frame salience jitter of each concept */
	double latent_noise;        /* shared visual variation of a frame (both student and teacher) */
	/* student */
	double student_noise;       /* latent noise seen by the student only */
	double sensor_noise;        /* per-element noise on student features (signal RMS = 1) */
	double text_noise;          /* per-element noise on token features (embedding RMS = 1) */
	double context;             /* token = (1-c) word + c sentence mean (contextual encoder) */
	double tokens, tokens_sd;   /* tokens per query: lognormal mean and log-sigma, clamped */
	int tokens_min, tokens_max;
	int specials;               /* 1: <s> ... </s> around the words (RoBERTa); 0: words only */
	int synonyms;               /* words per concept */
	int fillers;                /* filler (function) words */
	/* teacher */
	double teacher_noise;       /* latent noise of the teacher's views (frames and text) */
	double gap;                 /* domain gap g in [0,1]: domain concepts' image/text agreement sqrt(1-g^2) */
	double domain_frac;         /* fraction of concepts that are domain-specific */
} SynthConfig;

/* fill c with preset name (e.g. "tvr", "tvr-small", "msrvtt-tiny"); 0 when unknown */
int synth_preset(SynthConfig *c, const char *name);
/* the preset names, space-separated, for usage messages */
const char *synth_preset_list(void);
/* die naming the first inconsistent setting */
void synth_validate(const SynthConfig *c);
/* queries of split s: round(videos * qpv) */
long synth_queries(const SynthConfig *c, int s);

typedef struct SynthWorld SynthWorld;

typedef struct {
	int c[SYNTH_FACTORS];       /* concept index per factor, in [0, concepts) */
	int start, end;             /* clips [start, end) */
} SynthEvent;

typedef struct {
	int n;                      /* raw clips */
	int ev0, nev;               /* events ev0 .. ev0 + nev - 1 of the split, in time order */
	long q0;                    /* queries q0 .. q0 + nq - 1 of the split */
	int nq;
	int setting[2];             /* persistent subject and place of the video */
} SynthVideo;

typedef struct {
	int video, event;           /* index in the split */
	int mask;                   /* bit f set: the query names factor f */
	int ntok;                   /* tokens */
} SynthQuery;

typedef struct {
	int split;
	long nv, ne, nq;
	SynthVideo *v;
	SynthEvent *e;
	SynthQuery *q;
} SynthSplit;

SynthWorld *synth_world(const SynthConfig *c);
void synth_world_free(SynthWorld *w);
/* structure of split s (lengths, events, queries); cheap */
SynthSplit *synth_split(const SynthConfig *c, int s);
void synth_split_free(SynthSplit *sp);

/* features of video vi of sp and of its queries. Buffers (caller's, sized with the max_* below):
 *   xs  (n, dv) student frames       xe (n, de) teacher frames
 *   tok (sum of its queries' ntok, dt) student tokens, query after query
 *   qe  (nq, de) teacher text embeddings
 * Deterministic in (seed, split, vi). */
void synth_video(const SynthWorld *w, const SynthSplit *sp, long vi,
                 float *xs, float *xe, float *tok, float *qe);
/* largest n, largest sum of ntok over one video's queries, largest nq in sp */
void synth_split_max(const SynthSplit *sp, int *max_n, long *max_tok, int *max_nq);

/* ids: "<base>_<split>_<6-digit index>" and "<video id>#enc#<k>" */
void synth_video_id(const SynthConfig *c, int s, long vi, char *buf, size_t size);

/* the whole corpus directory: DIR/corpus.mp and DIR/<split>-{video,query}-{student,teacher}.mp,
 * all written through mpw_open and renamed into place only at the end (a failed run leaves
 * none). Returns bytes written (sum of file sizes). */
long long synth_write(const SynthConfig *c, const char *dir, int gzip);

#endif

/* prvr-synth: write a synthetic PRVR corpus directory (the project's embedded default data):
 * DIR/corpus.mp with every query's ground-truth moment, and raw (not reduced, not normalised)
 * student and teacher features of the train, val and test splits, clip-aligned. A preset copies
 * the shapes of a real set (tvr, activitynet, charades, msrvtt; -small ~ a tenth of the videos,
 * -tiny ~ 60/30/30 videos with small dimensions); knobs override it. The world it samples is
 * described in doc/synth.md and lives in lib/synth.c; output is a function of the preset, knobs
 * and seed only. Not here: reduction (feat-reduce), real features (prvr-import). */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cblas.h>

#include "synth.h"
#include "threads.h"
#include "util.h"

static void
help(void)
{
	printf("prvr-synth - write a synthetic partially-relevant video retrieval corpus\n"
	       "\n"
	       "usage: %s -p PRESET [-s SEED] -o DIR [-z] [-q] [knobs]\n"
	       "\n"
	       "Writes DIR/corpus.mp (kind corpus: sizes, dims, knobs, and one item per query with\n"
	       "its ground-truth moment {split, id, video, start, end} in raw clips) and, for split in\n"
	       "train, val, test, DIR/<split>-video-{student,teacher}.mp (kind video-features) and\n"
	       "DIR/<split>-query-{student,teacher}.mp (kind query-features): raw features, not\n"
	       "reduced, not normalised; teacher queries are one vector. Videos and queries are in the\n"
	       "same order in student and teacher files; row t of both describes the same clip. Files\n"
	       "appear only when all are complete. Nothing is read; nothing is written to stdout.\n"
	       "The world and every knob: doc/synth.md.\n"
	       "\n"
	       "  -p PRESET  %s\n"
	       "  -s SEED    random seed, 0..2^62 (default 1); same seed and knobs: identical files\n"
	       "  -o DIR     output directory (created if missing; files in it are replaced)\n"
	       "  -z         gzip every file (readers detect it; much slower)\n"
	       "  -q         no progress on stderr\n"
	       "\n"
	       "Knobs (default: the preset's value, shown in corpus.mp's header 'knobs'):\n"
	       "  --videos TR,VA,TE     videos per split\n"
	       "  --queries Q           mean queries per video, every split (0.1..1000)\n"
	       "  --frames F            mean raw clips per video (lognormal); --frames-sd S its\n"
	       "                        log-sigma; --frames-min N, --frames-max N its range\n"
	       "  --moment R            mean moment / video length (0..1]; --moment-sd S log-sigma\n"
	       "  --events N            events per video at most (also <= its queries)\n"
	       "  --concepts C          concepts per factor (4 factors); --zipf S their frequency\n"
	       "                        exponent (0 uniform); --similarity R how much of its vector\n"
	       "                        a concept shares with its cluster of 4 (0..1)\n"
	       "  --latent K            latent dimension; --hidden H student map hidden units\n"
	       "  --persist P           P(an event keeps the video's subject/place)\n"
	       "  --hard P              P(an event is a near copy of another video's event)\n"
	       "  --mention P           P(a query names subject, object, place; action always)\n"
	       "  --latent-noise S      visual variation shared by student and teacher\n"
	       "  --student-noise S     latent noise seen by the student only\n"
	       "  --sensor-noise S      per-element noise of student frames (signal RMS 1)\n"
	       "  --text-noise S        per-element noise of student tokens (embedding RMS 1)\n"
	       "  --context C           token mixes in C x the sentence mean (0..1)\n"
	       "  --tokens T            mean tokens per query; --tokens-min N, --tokens-max N\n"
	       "  --synonyms N          words per concept\n"
	       "  --teacher-noise S     latent noise of the teacher's frame and text views\n"
	       "  --gap G               teacher domain gap 0..1 on domain-specific concepts\n"
	       "  --domain-frac F       fraction of concepts that are domain-specific\n"
	       "  --dims DV,DT,DE       student video, student token and teacher dimensions\n"
	       "\n"
	       "Exit status 0 on success, 1 on any error (then no output file is left).\n",
	       argv0, synth_preset_list());
	exit(0);
}

static _Noreturn void
usage(void)
{
	die("usage: %s -p PRESET [-s SEED] -o DIR [-z] [-q] [--KNOB VALUE ...] (see --help)", argv0);
}

/* "a,b,c" into three longs in [min, max] */
static void
parse3(const char *s, long v[3], long min, long max)
{
	char buf[256], *p = buf, *q;

	if (strlen(s) >= sizeof(buf))
		die("'%s': too long", s);
	strcpy(buf, s);
	for (int i = 0; i < 3; i++) {
		q = strchr(p, ',');
		if ((i < 2) != (q != NULL))
			die("'%s': expected three comma-separated integers", s);
		if (q)
			*q = '\0';
		v[i] = estrtol(p, min, max);
		p = q + 1;
	}
}

enum {
	O_VIDEOS = 256, O_QUERIES, O_FRAMES, O_FRAMES_SD, O_FRAMES_MIN, O_FRAMES_MAX, O_MOMENT,
	O_MOMENT_SD, O_EVENTS, O_CONCEPTS, O_ZIPF, O_LATENT, O_HIDDEN, O_PERSIST, O_HARD, O_MENTION,
	O_LATENT_NOISE, O_STUDENT_NOISE, O_SENSOR_NOISE, O_TEXT_NOISE, O_CONTEXT, O_TOKENS,
	O_TOKENS_MIN, O_TOKENS_MAX, O_SYNONYMS, O_TEACHER_NOISE, O_GAP, O_DOMAIN_FRAC, O_DIMS,
	O_SIMILARITY
};

static const struct option longopts[] = {
	{ "videos", 1, 0, O_VIDEOS }, { "queries", 1, 0, O_QUERIES },
	{ "frames", 1, 0, O_FRAMES }, { "frames-sd", 1, 0, O_FRAMES_SD },
	{ "frames-min", 1, 0, O_FRAMES_MIN }, { "frames-max", 1, 0, O_FRAMES_MAX },
	{ "moment", 1, 0, O_MOMENT }, { "moment-sd", 1, 0, O_MOMENT_SD },
	{ "events", 1, 0, O_EVENTS }, { "concepts", 1, 0, O_CONCEPTS }, { "zipf", 1, 0, O_ZIPF },
	{ "latent", 1, 0, O_LATENT }, { "hidden", 1, 0, O_HIDDEN },
	{ "persist", 1, 0, O_PERSIST }, { "hard", 1, 0, O_HARD }, { "mention", 1, 0, O_MENTION },
	{ "latent-noise", 1, 0, O_LATENT_NOISE }, { "student-noise", 1, 0, O_STUDENT_NOISE },
	{ "sensor-noise", 1, 0, O_SENSOR_NOISE }, { "text-noise", 1, 0, O_TEXT_NOISE },
	{ "context", 1, 0, O_CONTEXT }, { "tokens", 1, 0, O_TOKENS },
	{ "tokens-min", 1, 0, O_TOKENS_MIN }, { "tokens-max", 1, 0, O_TOKENS_MAX },
	{ "synonyms", 1, 0, O_SYNONYMS }, { "teacher-noise", 1, 0, O_TEACHER_NOISE },
	{ "gap", 1, 0, O_GAP }, { "domain-frac", 1, 0, O_DOMAIN_FRAC }, { "dims", 1, 0, O_DIMS },
	{ "similarity", 1, 0, O_SIMILARITY },
	{ 0, 0, 0, 0 }
};

/* apply one knob to c (after the preset) */
static void
knob(SynthConfig *c, int opt, const char *a)
{
	long v3[3];

	switch (opt) {
	case O_VIDEOS:
		parse3(a, v3, 1, 10000000);
		for (int s = 0; s < SYNTH_NSPLIT; s++)
			c->videos[s] = v3[s];
		break;
	case O_QUERIES:
		c->qpv[0] = c->qpv[1] = c->qpv[2] = estrtod(a, 0.1, 1000);
		break;
	case O_FRAMES: c->frames = estrtod(a, 1, 100000); break;
	case O_FRAMES_SD: c->frames_sd = estrtod(a, 0, 3); break;
	case O_FRAMES_MIN: c->frames_min = (int)estrtol(a, 1, 100000); break;
	case O_FRAMES_MAX: c->frames_max = (int)estrtol(a, 1, 100000); break;
	case O_MOMENT: c->moment = estrtod(a, 1e-3, 1); break;
	case O_MOMENT_SD: c->moment_sd = estrtod(a, 0, 3); break;
	case O_EVENTS: c->max_events = (int)estrtol(a, 1, 64); break;
	case O_CONCEPTS: c->concepts = (int)estrtol(a, 2, 100000); break;
	case O_ZIPF: c->zipf = estrtod(a, 0, 4); break;
	case O_SIMILARITY: c->similarity = estrtod(a, 0, 1); break;
	case O_LATENT: c->latent = (int)estrtol(a, 2, 4096); break;
	case O_HIDDEN: c->hidden = (int)estrtol(a, 1, 16384); break;
	case O_PERSIST: c->persist = estrtod(a, 0, 1); break;
	case O_HARD: c->hard = estrtod(a, 0, 1); break;
	case O_MENTION: c->mention = estrtod(a, 0, 1); break;
	case O_LATENT_NOISE: c->latent_noise = estrtod(a, 0, 100); break;
	case O_STUDENT_NOISE: c->student_noise = estrtod(a, 0, 100); break;
	case O_SENSOR_NOISE: c->sensor_noise = estrtod(a, 0, 100); break;
	case O_TEXT_NOISE: c->text_noise = estrtod(a, 0, 100); break;
	case O_CONTEXT: c->context = estrtod(a, 0, 1); break;
	case O_TOKENS: c->tokens = estrtod(a, 1, 64); break;
	case O_TOKENS_MIN: c->tokens_min = (int)estrtol(a, 1, 64); break;
	case O_TOKENS_MAX: c->tokens_max = (int)estrtol(a, 1, 64); break;
	case O_SYNONYMS: c->synonyms = (int)estrtol(a, 1, 64); break;
	case O_TEACHER_NOISE: c->teacher_noise = estrtod(a, 0, 100); break;
	case O_GAP: c->gap = estrtod(a, 0, 1); break;
	case O_DOMAIN_FRAC: c->domain_frac = estrtod(a, 0, 1); break;
	case O_DIMS:
		parse3(a, v3, 1, 65536);
		c->dv = (int)v3[0];
		c->dt = (int)v3[1];
		c->de = (int)v3[2];
		break;
	default:
		usage();
	}
}

int
main(int argc, char *argv[])
{
	const char *preset = NULL, *dir = NULL, *seed = NULL;
	int ch, gzip = 0, nk = 0, *kopt = emalloc((size_t)argc * sizeof(int));
	char **karg = emalloc((size_t)argc * sizeof(char *));
	SynthConfig c;
	struct stat st;
	long long bytes;
	double t0 = now_seconds(), dt;

	tool_start(argc, argv, help);
	threads_set(1);
	while ((ch = getopt_long(argc, argv, ":p:s:o:zq", longopts, NULL)) != -1) {
		switch (ch) {
		case 'p': preset = optarg; break;
		case 's': seed = optarg; break;
		case 'o': dir = optarg; break;
		case 'z': gzip = 1; break;
		case 'q': progress_quiet = 1; break;
		case '?':
		case ':':
			bad_option(ch);
		default:
			kopt[nk] = ch;
			karg[nk++] = optarg;
		}
	}
	if (optind != argc || !preset || !dir)
		usage();
	if (!synth_preset(&c, preset))
		die("unknown preset '%s' (presets: %s)", preset, synth_preset_list());
	if (seed)
		c.seed = (uint64_t)estrtol(seed, 0, 1L << 62);
	for (int i = 0; i < nk; i++)
		knob(&c, kopt[i], karg[i]);
	synth_validate(&c);
	if (!*dir)
		die("-o: empty directory name");
	if (stat(dir, &st)) {
		if (errno != ENOENT || mkdir(dir, 0777))
			die("mkdir %s:", dir);
	} else if (!S_ISDIR(st.st_mode))
		die("%s: not a directory", dir);
	{	/* before any work: dir takes files (corpus.mp, the first synth_write writes) */
		char probe[4096];
		snprintf(probe, sizeof(probe), "%s/corpus.mp", dir);
		check_outputs(NULL, 0, (const char *const[]){ probe }, 1);
	}

	bytes = synth_write(&c, dir, gzip);
	dt = now_seconds() - t0;
	progress(1, "%s seed %llu: wrote %.1f MB to %s in %.2f s (%.1f MB/s)", c.name,
	         (unsigned long long)c.seed, bytes / 1e6, dir, dt, bytes / 1e6 / (dt > 0 ? dt : 1e-9));
	free(kopt);
	free(karg);
	return 0;
}

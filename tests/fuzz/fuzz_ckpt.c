/* fuzz_ckpt: the checkpoint reader (lib/ckpt), and for every checkpoint it accepts a round trip:
 * written back and read again it must be accepted, and written once more it must give the same
 * bytes (configuration, state, command line, every tensor and its Adam moments). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ckpt.h"
#include "fuzz.h"

struct rt {
	const char *in, *out;
};

static void
read_write(void *arg)
{
	struct rt *t = arg;
	TrainConfig c;
	TrainState st;
	Model *m = ckpt_read(t->in, &c, &st, 1);

	ckpt_write(t->out, &c, &st, m);
	model_free(m);
	free(st.cmd);
}

static char *
slurp(const char *path, size_t *n)
{
	FILE *f = fopen(path, "rb");
	char *b = NULL;
	long len;

	if (!f || fseek(f, 0, SEEK_END) || (len = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) ||
	    !(b = malloc((size_t)len + 1)) || fread(b, 1, (size_t)len, f) != (size_t)len)
		abort();
	fclose(f);
	*n = (size_t)len;
	return b;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rt a = { fuzz_stream_file("in.mp", data, size), fuzz_path("a.mp") };
	struct rt b = { a.out, fuzz_path("b.mp") };
	size_t na, nb;
	char *pa, *pb;

	if (!fuzz_run(read_write, &a))
		return 0;
	if (!fuzz_run(read_write, &b)) {
		fprintf(stderr, "fuzz_ckpt: a checkpoint written from an accepted one is refused\n");
		abort();
	}
	pa = slurp(a.out, &na);
	pb = slurp(b.out, &nb);
	if (na != nb || memcmp(pa, pb, na) != 0) {
		fprintf(stderr, "fuzz_ckpt: write, read, write gives other bytes\n");
		abort();
	}
	free(pa);
	free(pb);
	return 0;
}

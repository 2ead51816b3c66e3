/* fuzz_vindex: the frame index file of prvr-index / prvr-search (lib/vindex.c) as prvr-search
 * opens it: vx_open (the header and section checks, on the mapped file), then every frame's
 * owner and every video's score from the stored codes (vx_query, vx_score) in every branch.
 * The input is the file; it is read twice, as it is and with the CRC of every section that fits
 * in the file and of the header made right, so that mutations reach past the checksums. Not reached: vx_load_ann, the FAISS
 * structures (libfaiss is not instrumented; its reader resizes vectors from claimed counts up to
 * 2^40 elements before reading them). */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

#include "fuzz.h"
#include "util.h"
#include "vindex.h"

static void
open_and_score(void *path)
{
	VxIndex x;
	float *qn, *tab, *scratch;

	vx_open(&x, path);
	qn = efloats((size_t)x.D);
	tab = efloats(vx_query_floats(&x));
	scratch = efloats((size_t)x.maxn * (x.D + 1));
	for (int j = 0; j < x.D; j++)
		qn[j] = 1.0f;
	vx_normalise(qn, 1, x.D);
	for (int v = 0; v < x.nv; v++)
		for (int f = x.off[v]; f < x.off[v + 1]; f++)
			if (x.vid[f] != v)
				abort();   /* vx_open let through offsets its frame-to-video table disagrees with */
	for (int b = 0; b < x.nb; b++) {
		vx_query(&x, b, qn, tab);
		for (int v = 0; v < x.nv; v++)
			vx_score(&x, b, v, tab, scratch);
	}
	free(scratch);
	free(tab);
	free(qn);
	vx_close(&x);
}

static uint32_t
crc(const uint8_t *p, size_t n)
{
	return (uint32_t)crc32(crc32(0L, Z_NULL, 0), p, (uInt)n);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	VxHeader h;
	uint8_t *fixed;

	fuzz_run(open_and_score, (void *)fuzz_file("index.vx", data, size));
	if (size < sizeof(h))
		return 0;
	memcpy(&h, data, sizeof(h));
	for (int s = 0; s < VX_NSEC; s++)
		if (h.sec_off[s] <= size && h.sec_len[s] <= size - h.sec_off[s])
			h.sec_crc[s] = crc(data + h.sec_off[s], (size_t)h.sec_len[s]);
	h.hdr_crc = crc((const uint8_t *)&h, offsetof(VxHeader, hdr_crc));
	fixed = malloc(size);
	memcpy(fixed, data, size);
	memcpy(fixed, &h, sizeof(h));
	fuzz_run(open_and_score, (void *)fuzz_file("index.vx", fixed, size));
	free(fixed);
	return 0;
}

/* fuzz_stream: the stream reader (lib/mpio) and the schema validator (lib/schema) of every kind,
 * as prvr-cat -c runs them: header, every item, end-of-stream invariants. The input is one
 * stream, plain or gzip, read as it is and with its checksums made right. */
#include "fuzz.h"
#include "mpio.h"
#include "schema.h"

static void
check(void *path)
{
	MpReader *r = mpr_open(path);
	const msgpack_object *h = mpr_header(r, NULL), *o;
	SchemaState *s = schema_open(r, h, 1);

	while ((o = mpr_next(r)))
		schema_item(s, o);
	schema_close(s);
	mpr_close(r);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_run(check, (void *)fuzz_file("raw.mp", data, size));
	fuzz_run(check, (void *)fuzz_stream_file("in.mp", data, size));
	return 0;
}

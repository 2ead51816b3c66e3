/* prvr-cat: any prvr stream as JSON lines, one object per record (header first), so that jq
 * and people can read it; or, with -c, a validation of the stream against the schema of its
 * kind (lib/schema.c). Tensors (msgpack bin) are summarised as {"f32": count, "min", "max",
 * "mean"} (or "i32" when the schema says int32) unless -a asks for every value.
 * Not here: converting JSON back to a stream, editing streams, cross-stream checks. */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mpio.h"
#include "schema.h"
#include "util.h"

static int all;   /* -a: tensors in full */

static void
help(void)
{
	printf("prvr-cat - print a prvr stream as JSON lines, or validate it against its schema\n"
	       "\n"
	       "usage: %s [-a] [-c] [-n N] [FILE | -]\n"
	       "\n"
	       "Reads one stream (FILE, or stdin when FILE is - or absent; gzip is read\n"
	       "transparently) and prints one JSON object per record on stdout, the header first.\n"
	       "Tensors (bin) print as {\"f32\": count, \"min\": .., \"max\": .., \"mean\": ..}\n"
	       "({\"i32\": count, ...} for int32 keys of the kind's schema, {\"bin\": bytes} when the\n"
	       "length is not a multiple of 4; \"nonfinite\": k counts NaN/Inf values left out).\n"
	       "Non-finite floats print as null. Strings are JSON-escaped.\n"
	       "\n"
	       "  -a    print tensors in full, as JSON arrays of numbers\n"
	       "  -c    validate instead of printing: header and every item against the schema of\n"
	       "        the stream's kind (schemas/<kind>.md); prints \"FILE: OK KIND N records\"\n"
	       "        (N items after the header) on stderr and nothing on stdout; exits 1 with\n"
	       "        \"FILE: record I: what is wrong\" on the first violation\n"
	       "  -n N  print the header and at most N items, 0..2^40 (default: all)\n"
	       "\n"
	       "Kinds known to -c: ", argv0);
	for (const SchemaKind *k = schema_kinds; k->kind; k++)
		printf("%s%s", k->kind, k[1].kind ? ", " : ".\n");
	printf("Exit status 0 on success, 1 on any error (bad input, failed validation).\n");
	exit(0);
}

static void
usage(void)
{
	die("usage: %s [-a] [-c] [-n N] [FILE | -]", argv0);
}

/* ---- JSON ---- */

static void
put_str(const char *p, size_t n)
{
	putchar('"');
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)p[i];
		switch (c) {
		case '"': fputs("\\\"", stdout); break;
		case '\\': fputs("\\\\", stdout); break;
		case '\n': fputs("\\n", stdout); break;
		case '\r': fputs("\\r", stdout); break;
		case '\t': fputs("\\t", stdout); break;
		default:
			if (c < 0x20 || c == 0x7f)
				printf("\\u%04x", c);
			else
				putchar(c);
		}
	}
	putchar('"');
}

static void
put_num(double v, int prec)
{
	if (isfinite(v))
		printf("%.*g", prec, v);
	else
		fputs("null", stdout);
}

/* a bin; dtype 'f' float32, 'i' int32, 0 unknown (float32 when the length allows) */
static void
put_bin(const char *p, size_t nb, int dtype)
{
	size_t n = nb / 4, nonfin = 0;
	double mn = INFINITY, mx = -INFINITY, sum = 0;

	if (nb % 4) {
		if (!all) {
			printf("{\"bin\":%zu}", nb);
			return;
		}
		putchar('"');
		for (size_t i = 0; i < nb; i++)
			printf("%02x", (unsigned char)p[i]);
		putchar('"');
		return;
	}
	if (!dtype)
		dtype = 'f';
	if (all)
		putchar('[');
	for (size_t i = 0; i < n; i++) {
		double v;
		if (dtype == 'i') {
			int32_t x;
			memcpy(&x, p + 4 * i, 4);
			v = x;
			if (all)
				printf("%s%" PRId32, i ? "," : "", x);
		} else {
			float f;
			memcpy(&f, p + 4 * i, 4);
			v = f;
			if (all) {
				if (i)
					putchar(',');
				put_num(f, 9);
			}
		}
		if (!isfinite(v)) {
			nonfin++;
			continue;
		}
		mn = MIN(mn, v);
		mx = MAX(mx, v);
		sum += v;
	}
	if (all) {
		putchar(']');
		return;
	}
	printf("{\"%s\":%zu", dtype == 'i' ? "i32" : "f32", n);
	if (n > nonfin) {
		fputs(",\"min\":", stdout);
		put_num(mn, dtype == 'i' ? 17 : 9);
		fputs(",\"max\":", stdout);
		put_num(mx, dtype == 'i' ? 17 : 9);
		fputs(",\"mean\":", stdout);
		put_num(sum / (double)(n - nonfin), 9);
	}
	if (nonfin)
		printf(",\"nonfinite\":%zu", nonfin);
	putchar('}');
}

static void
put_obj(const msgpack_object *o, const SchemaState *s, int top, int header)
{
	switch (o->type) {
	case MSGPACK_OBJECT_NIL: fputs("null", stdout); break;
	case MSGPACK_OBJECT_BOOLEAN: fputs(o->via.boolean ? "true" : "false", stdout); break;
	case MSGPACK_OBJECT_POSITIVE_INTEGER: printf("%" PRIu64, o->via.u64); break;
	case MSGPACK_OBJECT_NEGATIVE_INTEGER: printf("%" PRId64, o->via.i64); break;
	case MSGPACK_OBJECT_FLOAT32: put_num(o->via.f64, 9); break;
	case MSGPACK_OBJECT_FLOAT64: put_num(o->via.f64, 17); break;
	case MSGPACK_OBJECT_STR: put_str(o->via.str.ptr, o->via.str.size); break;
	case MSGPACK_OBJECT_BIN: put_bin(o->via.bin.ptr, o->via.bin.size, 0); break;
	case MSGPACK_OBJECT_EXT: printf("{\"ext\":%d,\"bytes\":%u}", o->via.ext.type, o->via.ext.size); break;
	case MSGPACK_OBJECT_ARRAY:
		putchar('[');
		for (uint32_t i = 0; i < o->via.array.size; i++) {
			if (i)
				putchar(',');
			put_obj(&o->via.array.ptr[i], s, 0, header);
		}
		putchar(']');
		break;
	case MSGPACK_OBJECT_MAP:
		putchar('{');
		for (uint32_t i = 0; i < o->via.map.size; i++) {
			const msgpack_object *k = &o->via.map.ptr[i].key, *v = &o->via.map.ptr[i].val;
			if (i)
				putchar(',');
			if (k->type == MSGPACK_OBJECT_STR) {
				put_str(k->via.str.ptr, k->via.str.size);
			} else {
				/* JSON keys are strings: print the key as JSON inside a string */
				putchar('"');
				put_obj(k, s, 0, header);
				putchar('"');
			}
			putchar(':');
			if (top && k->type == MSGPACK_OBJECT_STR && v->type == MSGPACK_OBJECT_BIN)
				put_bin(v->via.bin.ptr, v->via.bin.size,
				        schema_dtype(s, header, k->via.str.ptr, k->via.str.size));
			else
				put_obj(v, s, 0, header);
		}
		putchar('}');
		break;
	}
}

int
main(int argc, char *argv[])
{
	const char *path = "-";
	long max = -1, items = 0;
	int c, check = 0;
	const msgpack_object *h, *o;
	SchemaState *s;
	MpReader *r;

	tool_start(argc, argv, help);
	while ((c = getopt(argc, argv, ":acn:")) != -1) {
		switch (c) {
		case 'a': all = 1; break;
		case 'c': check = 1; break;
		case 'n': max = estrtol(optarg, 0, 1L << 40); break;
		default: bad_option(c);
		}
	}
	if (argc - optind > 1)
		usage();
	if (optind < argc)
		path = argv[optind];

	r = mpr_open(path);
	h = mpr_header(r, NULL);
	s = schema_open(r, h, check);
	if (!check) {
		put_obj(h, s, 1, 1);
		putchar('\n');
	}
	while ((check || max < 0 || items < max) && (o = mpr_next(r))) {
		items++;
		if (check) {
			schema_item(s, o);
			continue;
		}
		put_obj(o, s, 1, 0);
		putchar('\n');
		if (ferror(stdout))
			die("write <stdout>:");
	}
	schema_close(s);
	if (check)
		fprintf(stderr, "%s: OK %s %ld records\n", r->name, r->kind, items);
	mpr_close(r);
	if (fflush(stdout) || ferror(stdout))
		die("write <stdout>:");
	return 0;
}

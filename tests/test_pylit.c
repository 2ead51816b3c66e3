/* test_pylit: the video2frames.txt parser (lib/pylit.h) on literals written by hand: every
 * string form (u/b/r prefixes, both quotes, the escapes, \xHH), lists and tuples, empty lists,
 * trailing commas; broken entries recorded with line, column, what was expected and found, and
 * the parse going on after them (entries one a line, and all on one line); a repeated key (the
 * first kept); text after the closing brace; files ending inside a string, after a string prefix
 * (once read past the end: ASan's run catches a relapse) or before the closing brace; and the
 * one fatal error, no '{' at the start. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dies.h"
#include "pylit.h"
#include "util.h"

static int failures;

#define EXPECT(c) do { if (!(c)) { fprintf(stderr, "NOT OK %s:%d: %s\n", __FILE__, __LINE__, #c); failures++; } } while (0)

/* the strings of entry key joined with '|', or "(none)" */
static const char *
items(const PyDict *d, const char *key)
{
	static char buf[256];
	int e = idindex_find(&d->index, key);

	if (e < 0)
		return "(none)";
	buf[0] = '\0';
	for (long i = 0; i < d->e[e].n; i++)
		snprintf(buf + strlen(buf), sizeof(buf) - strlen(buf), "%s%s", i ? "|" : "",
		         pylit_item(d, d->e[e].off + i));
	return buf;
}

static int
problem_is(const PyDict *d, long i, int kind, long line, long col, const char *expected,
           const char *found, const char *key)
{
	const PyProblem *p = &d->prob[i];

	return i < d->nprob && p->kind == kind && p->line == line && p->col == col &&
	       (!expected || (p->expected && strcmp(p->expected, expected) == 0)) &&
	       (!found || strcmp(p->found, found) == 0) &&
	       (key ? p->key && strcmp(p->key, key) == 0 : !p->key);
}

static void
no_brace(void *text)
{
	PyDict d;

	pylit_dict(&d, text, "x.txt");
}

int
main(void)
{
	PyDict d;

	pylit_dict(&d, "\n  {u'a': ['x', \"y\", r'z\\n'],\n 'b': (b'p', 'q',),\r\n"
	               " \"c\": [], 'd\\'s': ['\\\\ \\' \\\" \\n \\t \\r \\x41']}\n", "ok.txt");
	EXPECT(d.ne == 4 && d.nprob == 0);
	EXPECT(strcmp(items(&d, "a"), "x|y|z\\n") == 0);
	EXPECT(strcmp(items(&d, "b"), "p|q") == 0);
	EXPECT(strcmp(items(&d, "c"), "") == 0 && d.e[2].n == 0);
	EXPECT(strcmp(items(&d, "d's"), "\\ ' \" \n \t \r A") == 0);
	EXPECT(d.e[0].line == 2 && d.e[1].line == 3 && d.e[3].line == 4);
	EXPECT(strcmp(d.e[0].key, "a") == 0 && strcmp(d.e[3].key, "d's") == 0);
	pylit_free(&d);
	printf("%s strings, lists, tuples\n", failures ? "NOT OK" : "OK");

	/* one entry a line: the broken ones skipped to the end of their line */
	pylit_dict(&d, "{'a': ['x'],\n 'b': ['y', z],\n 'c': ['\\x00'],\n 'd': ['w'] 'e': ['v'],\n"
	               " 'f': ['u'],\n 'a': ['t'],\n}\n", "l.txt");
	EXPECT(d.ne == 2 && strcmp(items(&d, "a"), "x") == 0 && strcmp(items(&d, "f"), "u") == 0);
	EXPECT(d.nprob == 4);
	EXPECT(problem_is(&d, 0, PY_SYNTAX, 2, 13, "a quoted string", "'z'", "b"));
	EXPECT(problem_is(&d, 1, PY_SYNTAX, 3, 9, "a \\xHH escape of a non-zero byte", "'\\'", "c"));
	EXPECT(problem_is(&d, 2, PY_SYNTAX, 4, 13, "',' or '}' after an entry", "'''", "d"));
	EXPECT(problem_is(&d, 3, PY_DUPKEY, 6, 2, NULL, NULL, "a"));
	EXPECT(d.nitem == 2);                     /* no string of a skipped entry kept */
	pylit_free(&d);
	/* all on one line: skipped to the end of the broken entry's list */
	pylit_dict(&d, "{'a': [x], 'b': ['y'], 'c' ['z'], 'd': ('w'] }", "o.txt");
	EXPECT(d.ne == 1 && strcmp(items(&d, "b"), "y") == 0);
	EXPECT(d.nprob == 3);
	EXPECT(problem_is(&d, 0, PY_SYNTAX, 1, 8, "a quoted string", "'x'", "a"));
	EXPECT(problem_is(&d, 1, PY_SYNTAX, 1, 28, "':' after the video id", "'['", "c"));
	EXPECT(problem_is(&d, 2, PY_SYNTAX, 1, 44, "',' or ')' in a tuple of clip ids", "']'", "d"));
	pylit_free(&d);
	/* text after the dict */
	pylit_dict(&d, "{'a': ['x']}\n junk", "t.txt");
	EXPECT(d.ne == 1 && d.nprob == 1 && problem_is(&d, 0, PY_TRAILING, 2, 2, NULL, NULL, NULL));
	pylit_free(&d);
	printf("%s broken entries, repeats, trailing text\n", failures ? "NOT OK" : "OK");

	/* ends early: the last problem found at the end of the file */
	{
		static const struct { const char *text; long nprob, line, col; const char *expected, *key; } end[] = {
			{ "{u", 2, 1, 3, "'}' closing the dict", NULL },
			{ "{'vA': [b", 2, 1, 10, "'}' closing the dict", NULL },
			{ "{'vA': [rb", 2, 1, 11, "'}' closing the dict", NULL },
			{ "{'a': ['x", 1, 1, 10, "the closing quote of a string", "a" },
			{ "{'a': ['x']", 1, 1, 12, "',' or '}' after an entry", "a" },
			{ "{'a': ['x'],\n", 1, 2, 1, "'}' closing the dict", NULL },
		};
		for (size_t i = 0; i < sizeof(end) / sizeof(end[0]); i++) {
			pylit_dict(&d, end[i].text, "e.txt");
			EXPECT(d.nprob == end[i].nprob && problem_is(&d, d.nprob - 1, PY_SYNTAX, end[i].line,
			       end[i].col, end[i].expected, "end of file", end[i].key));
			pylit_free(&d);
		}
	}
	EXPECT(dies_with(no_brace, "\n ['a']", "x.txt:2:2: expected '{' starting a Python dict literal"));
	EXPECT(dies_with(no_brace, "", "x.txt:1:1: expected '{'"));
	printf("%s early ends, no dict\n", failures ? "NOT OK" : "OK");
	return failures ? 1 : 0;
}

/* fuzz_prvr_cost: prvr-cost's main, whose only input is its command line: the input's lines are
 * the arguments (at most 16), followed by options that keep the run small (hidden 4, one head,
 * one video of 2 frames, 2 tokens, one step, one thread). getopt takes an option's last value,
 * so every fuzzed value is still parsed and range-checked, and the fuzzed -p, --dims (<= 65536),
 * --queries, --branches and -s are what the run uses. */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"

#define MAXARGS 16

int prvr_cost_main(int argc, char **argv);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const bound[] = { "--hidden", "4", "--heads", "1", "--batch", "1",
		"--frames", "2", "--tokens", "2", "--steps", "1", "-j", "1" };
	enum { NBOUND = sizeof(bound) / sizeof(bound[0]) };
	char *argv[1 + MAXARGS + NBOUND + 1], *a[MAXARGS];
	const uint8_t *p = data, *end = data + size, *nl;
	int argc = 0, na = 0;

	argv[argc++] = "prvr-cost";
	while (p < end && na < MAXARGS) {
		nl = memchr(p, '\n', (size_t)(end - p));
		nl = nl ? nl : end;
		a[na] = strndup((const char *)p, (size_t)(nl - p));
		argv[argc++] = a[na++];
		p = nl + 1;
	}
	for (int i = 0; i < NBOUND; i++)
		argv[argc++] = (char *)bound[i];
	argv[argc] = NULL;
	fuzz_mainv(prvr_cost_main, argc, argv);
	for (int i = 0; i < na; i++)
		free(a[i]);
	return 0;
}

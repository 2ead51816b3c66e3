/* gt: the relevance file of multi-positive evaluation, JSON lines of the shape
 *   {"query_id": "...", "gt_video_ids": ["...", ...]}
 * (the verified dense labels published for TVR, ActivityNet Captions, Charades-STA, MSR-VTT).
 * Other keys of a line are parsed and ignored; blank lines are skipped; strings may hold any
 * UTF-8 and every JSON escape (\uXXXX with surrogate pairs). Bad input dies with one line
 * "FILE:LINE:COLUMN: what is wrong": invalid UTF-8 or JSON, a missing or mistyped key, a query
 * listed twice, an empty gt_video_ids, a NUL in an id. A video listed twice for one query
 * counts once. Not here: JSON in general (no numbers or nesting kept), the metrics (evalm). */
#ifndef GT_H
#define GT_H

#include "idindex.h"

typedef struct {
	int n;                     /* queries */
	char **qid;                /* (n) query ids, file order */
	long *line;                /* (n) the line of each query */
	int *off;                  /* (n + 1) query i's videos are vid[off[i] .. off[i+1]-1] */
	char **vid;                /* (off[n]) relevant video ids, sorted within a query */
	IdIndex ix;                /* over qid */
	char *path;
} GtSet;

void gt_load(GtSet *g, const char *path);
/* index of query id s, or -1 */
int  gt_find(const GtSet *g, const char *s);
void gt_free(GtSet *g);

#endif

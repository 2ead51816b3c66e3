/* mdtable: the keys a schemas/ page documents, read the one way for the tests that hold a page
 * against a table of the code (test_schemas: every kind's header and items against lib/schema.c;
 * test_opts: the checkpoint's config against train_opts).
 * Not here: what a key must be (the tests say that). */
#ifndef MDTABLE_H
#define MDTABLE_H

/* fn(key, ctx) for each backticked word of the first cell of every table row (not the header
 * row, which has no backticks, nor the |---| rule) in the sections of page whose heading line
 * starts with one of heads[] (NULL-ended); a section runs to the next heading of any level.
 * Returns the number of keys. */
int md_table_keys(const char *page, const char *const *heads,
                  void (*fn)(const char *key, void *ctx), void *ctx);

#endif

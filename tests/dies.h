/* dies: runs a function that should refuse its input in a child process and checks that it died
 * the project's way: exit status 1 and a line on stderr holding the expected text. For the unit
 * tests of readers (test_util, test_pylit, test_bigfile, test_h5); linked into every test program.
 * Not here: tools run as programs (the shell tests do that). */
#ifndef DIES_H
#define DIES_H

/* 1 when f(arg) exits 1 with msg in its stderr; else prints what happened and returns 0 */
int dies_with(void (*f)(void *), void *arg, const char *msg);

#endif

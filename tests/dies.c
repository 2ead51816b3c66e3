/* dies: a function's death checked in a child process; see dies.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "dies.h"
#include "util.h"

int
dies_with(void (*f)(void *), void *arg, const char *msg)
{
	char out[4096];
	size_t n = 0;
	ssize_t k;
	int fd[2], status;
	pid_t pid;

	CHECK(pipe(fd) == 0);
	fflush(NULL);
	pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		dup2(fd[1], 2);
		close(fd[0]);
		f(arg);
		_exit(0);
	}
	close(fd[1]);
	while (n + 1 < sizeof(out) && (k = read(fd[0], out + n, sizeof(out) - 1 - n)) > 0)
		n += (size_t)k;
	out[n] = '\0';
	close(fd[0]);
	CHECK(waitpid(pid, &status, 0) == pid);
	if (WIFEXITED(status) && WEXITSTATUS(status) == 1 && strstr(out, msg))
		return 1;
	fprintf(stderr, "expected exit 1 and \"%s\"; got status %d and \"%s\"\n", msg, status, out);
	return 0;
}

/* capture.h — for unit tests that check what the library writes on stderr:
 * between capture_start and capture_end, stderr goes to a temporary file,
 * and capture_end returns what was written (malloc'd). Include after
 * cmocka.h. */
#ifndef SCEN_TEST_CAPTURE_H
#define SCEN_TEST_CAPTURE_H

#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "scen/util.h"

static int saved_fd = -1;
static FILE *cap_file;

static void capture_start(void)
{
	fflush(stderr);
	cap_file = tmpfile();
	assert_non_null(cap_file);
	saved_fd = dup(2);
	dup2(fileno(cap_file), 2);
}

static char *capture_end(void)
{
	struct stat st;
	char *s;
	ssize_t n;

	fflush(stderr);
	dup2(saved_fd, 2);
	close(saved_fd);
	fstat(fileno(cap_file), &st);
	s = xmalloc((size_t)st.st_size + 1);
	n = pread(fileno(cap_file), s, (size_t)st.st_size, 0);
	s[n > 0 ? n : 0] = 0;
	fclose(cap_file);
	return s;
}

#endif

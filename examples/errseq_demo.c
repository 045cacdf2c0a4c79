// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * errseq_demo - a walk through liberrseq.
 *
 * 1. Two subscribers (cursors) on one errseq_t each see an error once.
 * 2. A passive errseq_counter snapshot keeps reporting the error, and
 *    subscribers marking it seen do not disturb it.
 * 3. A snapshot is saved with errseq_snapshot_save(), loaded back and
 *    checked: same boot, no error since, then an error since.
 *
 * Usage: errseq_demo [DIR]   (DIR holds the snapshot file; default: a
 * fresh directory under $TMPDIR or /tmp, removed at the end)
 *
 * Every step prints what it does, what liberrseq returned and what the
 * documentation says it returns.  Exit status: 0 when everything behaves
 * as documented, 1 otherwise, 2 on a usage or system error.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "errseq/counter.h"
#include "errseq/errseq.h"

#define DEMO_SNAPSHOT_NAME "demo.snapshot"

static unsigned int demo_failures;

static const char *demo_err(int r)
{
	static char buf[4][32];
	static unsigned int next;
	char *s = buf[next++ % 4];

	if (r == 0)
		return "0";
	if (r < 0 && strerrorname_np(-r))
		snprintf(s, sizeof(buf[0]), "-%s", strerrorname_np(-r));
	else
		snprintf(s, sizeof(buf[0]), "%d", r);
	return s;
}

/* Prints one step and whether liberrseq did what is documented. */
static void demo_expect(const char *what, int got, int want)
{
	bool ok = got == want;

	printf("  %-52s -> %-8s %s\n", what, demo_err(got),
	       ok ? "(as documented)" : "WRONG");
	if (!ok) {
		printf("  %-52s    expected %s\n", "", demo_err(want));
		demo_failures++;
	}
}

static void demo_subscribers(void)
{
	errseq_t wb_err = 0; /* the error source, e.g. one file's writeback */
	errseq_t a, b;

	printf("1. Two subscribers on one errseq_t\n");
	a = errseq_sample(&wb_err);
	b = errseq_sample(&wb_err);
	demo_expect("A: check_and_advance before any error",
		    errseq_check_and_advance(&wb_err, &a), 0);
	(void)errseq_set(&wb_err, -EIO);
	printf("  errseq_set(-EIO)\n");
	demo_expect("A: check_and_advance",
		    errseq_check_and_advance(&wb_err, &a), -EIO);
	demo_expect("A: check_and_advance again",
		    errseq_check_and_advance(&wb_err, &a), 0);
	demo_expect("B: check (passive, does not advance)",
		    errseq_check(&wb_err, b), -EIO);
	demo_expect("B: check_and_advance",
		    errseq_check_and_advance(&wb_err, &b), -EIO);
	demo_expect("B: check_and_advance again",
		    errseq_check_and_advance(&wb_err, &b), 0);
	b = errseq_sample(&wb_err);
	demo_expect("C: subscribes after the error was seen",
		    errseq_check_and_advance(&wb_err, &b), 0);
}

static void demo_counter(struct errseq_counter *c)
{
	struct errseq_snapshot snap;
	errseq_t cursor;

	printf("2. A passive errseq_counter snapshot\n");
	errseq_counter_init(c);
	/* An ordinary subscriber on the counter's errseq word. */
	cursor = errseq_sample(&c->errseq);
	demo_expect("snapshot (BASELINE)",
		    errseq_counter_snapshot(c, &snap, ERRSEQ_SNAPSHOT_BASELINE),
		    0);
	demo_expect("check before any error", errseq_counter_check(c, &snap),
		    0);
	demo_expect("errseq_counter_set(-ENOSPC)",
		    errseq_counter_set(c, -ENOSPC), 0);
	demo_expect("check", errseq_counter_check(c, &snap), -ENOSPC);
	demo_expect("subscriber: check_and_advance (marks it seen)",
		    errseq_check_and_advance(&c->errseq, &cursor), -ENOSPC);
	demo_expect("subscriber: check_and_advance again",
		    errseq_check_and_advance(&c->errseq, &cursor), 0);
	demo_expect("check after the subscriber saw it",
		    errseq_counter_check(c, &snap), -ENOSPC);
	demo_expect("check again (still reported)",
		    errseq_counter_check(c, &snap), -ENOSPC);
	demo_expect("errseq_counter_set(0) is refused",
		    errseq_counter_set(c, 0), -EINVAL);
}

static void demo_persist(struct errseq_counter *c, int dirfd)
{
	struct errseq_snapshot saved, loaded;
	int r;

	printf("3. A persisted snapshot\n");
	demo_expect(
		"snapshot (BASELINE, the old error is accepted)",
		errseq_counter_snapshot(c, &saved, ERRSEQ_SNAPSHOT_BASELINE),
		0);
	demo_expect("errseq_snapshot_save",
		    errseq_snapshot_save(dirfd, DEMO_SNAPSHOT_NAME, &saved), 0);
	memset(&loaded, 0, sizeof(loaded));
	demo_expect("errseq_snapshot_load",
		    errseq_snapshot_load(dirfd, DEMO_SNAPSHOT_NAME, &loaded),
		    0);
	r = errseq_snapshot_same_boot(&loaded);
	demo_expect("errseq_snapshot_same_boot (1: same boot)", r, 1);
	demo_expect("check the loaded snapshot: nothing since",
		    errseq_counter_check(c, &loaded), 0);
	demo_expect("errseq_counter_set(-EIO)", errseq_counter_set(c, -EIO), 0);
	demo_expect("check the loaded snapshot",
		    errseq_counter_check(c, &loaded), -EIO);
	demo_expect("load a missing file",
		    errseq_snapshot_load(dirfd, "missing", &loaded), -ENOENT);
}

int main(int argc, char **argv)
{
	char tmpl[4096];
	struct errseq_counter c;
	const char *dir, *tmp;
	bool own_dir = false;
	int dirfd;

	if (argc > 2 || (argc == 2 && argv[1][0] == '-')) {
		fprintf(stderr, "Usage: errseq_demo [DIR]\n");
		return 2;
	}
	if (argc == 2) {
		dir = argv[1];
	} else {
		tmp = getenv("TMPDIR");
		snprintf(tmpl, sizeof(tmpl), "%s/errseq-demo-XXXXXX",
			 tmp && *tmp ? tmp : "/tmp");
		dir = mkdtemp(tmpl);
		if (!dir) {
			fprintf(stderr, "errseq_demo: mkdtemp %s: %s\n", tmpl,
				strerror(errno));
			return 2;
		}
		own_dir = true;
	}
	dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0) {
		fprintf(stderr, "errseq_demo: %s: %s\n", dir, strerror(errno));
		if (own_dir)
			(void)rmdir(dir); /* empty, just created */
		return 2;
	}

	demo_subscribers();
	demo_counter(&c);
	demo_persist(&c, dirfd);

	/* The demo's own file: a failure to remove it changes nothing. */
	(void)unlinkat(dirfd, DEMO_SNAPSHOT_NAME, 0);
	(void)close(dirfd);
	if (own_dir)
		(void)rmdir(dir);
	printf("%s\n", demo_failures
			       ? "Some steps did NOT behave as documented."
			       : "Everything behaved as documented.");
	return demo_failures ? 1 : 0;
}

// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * test_stress.c - threaded stress test of errseq_t and errseq_counter.
 *
 * Two setter threads, two cursors each shared by two threads calling
 * errseq_cursor_check_and_advance(), and two passive snapshot checkers,
 * all on one errseq_counter (the cursors use its errseq word, so their
 * ERRSEQ_SEEN marks interleave with the counter's sets).
 *
 * The run is cut into rounds separated by barriers, so that every round
 * starts from a quiescent, converged state and the checks are exact:
 *   - every cursor reports at least once per round (no miss) and at most
 *     once per set of the round (no double report); in a round with a
 *     single set, exactly once;
 *   - every cursor ends the round equal to the word;
 *   - a sample or snapshot taken before some set of the round started
 *     reports an error after the round (no miss by sample or snapshot);
 *   - every reported value is one of the errnos in use.
 * Threads never call cmocka; they record the first failure and the main
 * thread fails the test. Built for the 'stress' suite; run it under TSan.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>

#include "errseq/counter.h"
#include "unit.h"

#define STRESS_ROUNDS 2000
#define STRESS_SETTERS 2
#define STRESS_CURSORS 2
#define STRESS_CURSOR_THREADS (2 * STRESS_CURSORS)
#define STRESS_CHECKERS 2
#define STRESS_MULTI_SETS 40
#define STRESS_THREADS \
	(STRESS_SETTERS + STRESS_CURSOR_THREADS + STRESS_CHECKERS + 1)

static const int stress_errs[] = {-EIO, -ENOSPC, -EIO, -EDQUOT};

struct stress {
	struct errseq_counter c;
	errseq_t cursor[STRESS_CURSORS];
	pthread_barrier_t bar;
	/* set by the main thread between barriers */
	int round;
	int single; /* this round: one set by setter 0 only */
	/* updated during a round */
	unsigned int setters_done;
	unsigned int sets_started;
	unsigned int reports[STRESS_CURSORS];
	/* first failure */
	int failed;
	char msg[256];
};

static void stress_fail(struct stress *st, const char *what, int a, int b)
{
	int expected = 0;

	if (__atomic_compare_exchange_n(&st->failed, &expected, 1, 0,
					__ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
		snprintf(st->msg, sizeof(st->msg), "round %d: %s (%d, %d)",
			 st->round, what, a, b);
}

static int stress_valid_report(int r)
{
	return r == -EIO || r == -ENOSPC || r == -EDQUOT;
}

static int stress_running(struct stress *st)
{
	return __atomic_load_n(&st->setters_done, __ATOMIC_ACQUIRE) <
	       STRESS_SETTERS;
}

static unsigned int stress_started(struct stress *st)
{
	return __atomic_load_n(&st->sets_started, __ATOMIC_ACQUIRE);
}

struct stress_thread {
	struct stress *st;
	int id;
};

static void *stress_setter(void *p)
{
	struct stress_thread *t = p;
	struct stress *st = t->st;
	int r, i, n;

	for (r = 0; r < STRESS_ROUNDS; r++) {
		pthread_barrier_wait(&st->bar);
		pthread_barrier_wait(&st->bar);
		n = st->single ? (t->id == 0) : STRESS_MULTI_SETS;
		for (i = 0; i < n; i++) {
			int err = stress_errs[(i + t->id + r) % 4];

			__atomic_fetch_add(&st->sets_started, 1,
					   __ATOMIC_ACQ_REL);
			if (errseq_counter_set(&st->c, err))
				stress_fail(st, "set failed", err, 0);
			if (i % 8 == 7)
				sched_yield();
		}
		__atomic_fetch_add(&st->setters_done, 1, __ATOMIC_RELEASE);
		pthread_barrier_wait(&st->bar);
	}
	return NULL;
}

static void *stress_cursor(void *p)
{
	struct stress_thread *t = p;
	struct stress *st = t->st;
	int k = t->id % STRESS_CURSORS;
	errseq_t *cur = &st->cursor[k];
	int r, rc, last;

	for (r = 0; r < STRESS_ROUNDS; r++) {
		errseq_t quiet, mid = 0;
		unsigned int mid_started = ~0u;
		int n = 0;

		pthread_barrier_wait(&st->bar);
		quiet = errseq_sample(&st->c.errseq);
		pthread_barrier_wait(&st->bar);
		do {
			last = !stress_running(st);
			rc = errseq_cursor_check_and_advance(&st->c.errseq,
							     cur);
			if (rc) {
				if (!stress_valid_report(rc))
					stress_fail(st, "bad report", rc, k);
				__atomic_fetch_add(&st->reports[k], 1,
						   __ATOMIC_RELAXED);
			}
			if (++n % 16 == 0) {
				mid = errseq_sample(&st->c.errseq);
				mid_started = stress_started(st);
			}
			sched_yield();
		} while (!last);

		/* Every round has a set after the quiescent sample. */
		if (!errseq_check(&st->c.errseq, quiet))
			stress_fail(st, "sample missed a set", (int)quiet, k);
		if (stress_started(st) > mid_started &&
		    !errseq_check(&st->c.errseq, mid))
			stress_fail(st, "mid-round sample missed a set",
				    (int)mid, k);
		pthread_barrier_wait(&st->bar);
	}
	return NULL;
}

static void *stress_checker(void *p)
{
	struct stress_thread *t = p;
	struct stress *st = t->st;
	struct errseq_snapshot quiet, mid;
	int r, rc, last, have_mid;
	unsigned int mid_started = 0;

	for (r = 0; r < STRESS_ROUNDS; r++) {
		pthread_barrier_wait(&st->bar);
		rc = errseq_counter_snapshot(&st->c, &quiet, 0);
		if (rc)
			stress_fail(st, "quiescent snapshot failed", rc, t->id);
		if (errseq_counter_check(&st->c, &quiet))
			stress_fail(st, "fresh snapshot not clean", 0, t->id);
		have_mid = 0;
		pthread_barrier_wait(&st->bar);
		do {
			last = !stress_running(st);
			rc = errseq_counter_check(&st->c, &quiet);
			if (rc && !stress_valid_report(rc))
				stress_fail(st, "bad check result", rc, t->id);
			rc = errseq_counter_snapshot(&st->c, &mid, 0);
			if (rc == 0) {
				have_mid = 1;
				mid_started = stress_started(st);
			} else if (rc != -EAGAIN) {
				stress_fail(st, "snapshot failed", rc, t->id);
			}
			sched_yield();
		} while (!last);

		if (!errseq_counter_check(&st->c, &quiet))
			stress_fail(st, "snapshot missed a set", 0, t->id);
		if (have_mid && stress_started(st) > mid_started &&
		    !errseq_counter_check(&st->c, &mid))
			stress_fail(st, "mid-round snapshot missed a set", 0,
				    t->id);
		pthread_barrier_wait(&st->bar);
	}
	return NULL;
}

static void test_stress_cursors_and_snapshots_never_miss(void **state)
{
	static struct stress st;
	struct stress_thread args[STRESS_THREADS];
	pthread_t tid[STRESS_THREADS];
	int i, k, n = 0, singles = 0;

	memset(&st, 0, sizeof(st));
	errseq_counter_init(&st.c);
	pthread_barrier_init(&st.bar, NULL, STRESS_THREADS);

	for (i = 0; i < STRESS_SETTERS; i++, n++) {
		args[n] = (struct stress_thread){&st, i};
		assert_int_equal(
			pthread_create(&tid[n], NULL, stress_setter, &args[n]),
			0);
	}
	for (i = 0; i < STRESS_CURSOR_THREADS; i++, n++) {
		args[n] = (struct stress_thread){&st, i};
		assert_int_equal(
			pthread_create(&tid[n], NULL, stress_cursor, &args[n]),
			0);
	}
	for (i = 0; i < STRESS_CHECKERS; i++, n++) {
		args[n] = (struct stress_thread){&st, i};
		assert_int_equal(
			pthread_create(&tid[n], NULL, stress_checker, &args[n]),
			0);
	}

	for (i = 0; i < STRESS_ROUNDS; i++) {
		unsigned int sets;

		/* Threads are parked at the first barrier of the round. */
		st.round = i;
		st.single = i % 3 != 0;
		singles += st.single;
		__atomic_store_n(&st.setters_done, 0, __ATOMIC_RELAXED);
		__atomic_store_n(&st.sets_started, 0, __ATOMIC_RELAXED);
		for (k = 0; k < STRESS_CURSORS; k++)
			__atomic_store_n(&st.reports[k], 0, __ATOMIC_RELAXED);
		pthread_barrier_wait(&st.bar);
		pthread_barrier_wait(&st.bar);
		pthread_barrier_wait(&st.bar);

		sets = stress_started(&st);
		for (k = 0; k < STRESS_CURSORS; k++) {
			unsigned int rep = st.reports[k];

			if (rep < 1 || rep > sets || (st.single && rep != 1))
				stress_fail(&st, "wrong number of reports",
					    (int)rep, (int)sets);
			if (errseq_check(&st.c.errseq, st.cursor[k]))
				stress_fail(&st, "cursor did not converge", k,
					    0);
		}
	}
	for (i = 0; i < n; i++)
		pthread_join(tid[i], NULL);
	pthread_barrier_destroy(&st.bar);

	print_message("# %d rounds (%d single-set), %u errors recorded\n",
		      STRESS_ROUNDS, singles, st.c.errors);
	if (st.failed)
		print_error("%s\n", st.msg);
	assert_int_equal(st.failed, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_stress_cursors_and_snapshots_never_miss),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

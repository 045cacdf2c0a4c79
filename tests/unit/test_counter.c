// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * test_counter.c - unit tests of lib/counter.c (errseq_counter).
 *
 * The TCNT scenarios of the specification, the snapshot flags, instance
 * ids (with and without a working random pool, through sys_fault.c), the
 * 2^19 wrap that plain errseq_check() misses, the guarantee that checks
 * never write, and a reference model of counter + snapshots run over
 * long random sequences ($ERRSEQ_TEST_SEED, printed on failure).
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>

#include "errseq/counter.h"
#include "sys_fault.h"
#include "unit.h"

#define WRAP_CYCLES (1u << 19)

static void test_init_zeroes_words_and_draws_id(void **state)
{
	struct errseq_counter c, zero;

	memset(&c, 0xa5, sizeof(c));
	memset(&zero, 0, sizeof(zero));
	sys_fault_reset();
	errseq_counter_init(&c);
	assert_int_equal(c.errseq, 0);
	assert_int_equal(c.errors, 0);
	assert_memory_not_equal(c.instance, zero.instance, ERRSEQ_ID_SIZE);
	/* One getrandom() call and nothing else. */
	assert_int_equal(sys_fault_calls(), 1);
}

static void ids_all_distinct(int n)
{
	enum { N = 512 };
	static uint8_t ids[N][ERRSEQ_ID_SIZE];
	struct errseq_counter c;
	int i, j;

	assert_true(n <= N);
	for (i = 0; i < n; i++) {
		errseq_counter_init(&c);
		memcpy(ids[i], c.instance, ERRSEQ_ID_SIZE);
		for (j = 0; j < i; j++)
			assert_memory_not_equal(ids[i], ids[j], ERRSEQ_ID_SIZE);
	}
}

static void test_instance_ids_are_distinct(void **state)
{
	sys_fault_reset();
	ids_all_distinct(512);
}

static void test_instance_ids_distinct_without_random_pool(void **state)
{
	sys_fault_reset();
	sys_fault_no_random(true);
	ids_all_distinct(512);
	/* A failing (not just unavailable) getrandom() falls back too. */
	sys_fault_reset();
	sys_fault_arm(1, ENOSYS);
	ids_all_distinct(2);
	sys_fault_reset();
}

static void test_set_rejects_invalid_err_without_change(void **state)
{
	static const int bad[] = {0, 1, 4096, -4096, INT32_MIN};
	struct errseq_counter c;
	size_t i;

	errseq_counter_init(&c);
	assert_int_equal(errseq_counter_set(&c, -EIO), 0);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(errseq_counter_set(&c, bad[i]), -EINVAL);
		assert_int_equal(c.errseq, EIO);
		assert_int_equal(c.errors, 1);
	}
}

static void test_set_counts_every_valid_set(void **state)
{
	struct errseq_counter c;
	int i;

	errseq_counter_init(&c);
	for (i = 1; i <= 10; i++) {
		assert_int_equal(errseq_counter_set(&c, -EIO), 0);
		assert_int_equal(c.errors, (uint32_t)i);
	}
	/* The errseq word behaves exactly like errseq_set(). */
	assert_int_equal(c.errseq, EIO);
}

/* TCNT (a): an unseen error, then the same errno again. */
static void test_tcnt_a_repeat_of_unseen_error_detected(void **state)
{
	struct errseq_counter c;
	struct errseq_snapshot s;
	errseq_t before;

	errseq_counter_init(&c);
	errseq_counter_set(&c, -EIO);
	assert_int_equal(
		errseq_counter_snapshot(&c, &s, ERRSEQ_SNAPSHOT_BASELINE), 0);
	/* The pre-existing unseen error is the baseline. */
	assert_int_equal(errseq_counter_check(&c, &s), 0);
	before = c.errseq;
	errseq_counter_set(&c, -EIO);
	/* The errseq word did not move: only `errors` tells. */
	assert_int_equal(c.errseq, before);
	assert_int_equal(errseq_check(&c.errseq, before), 0);
	assert_int_equal(errseq_counter_check(&c, &s), -EIO);
}

/* TCNT (b): another subscriber marking the value seen is not an error. */
static void test_tcnt_b_seen_by_subscriber_is_not_new_error(void **state)
{
	struct errseq_counter c;
	struct errseq_snapshot s;
	errseq_t sub = 0;

	errseq_counter_init(&c);
	errseq_counter_set(&c, -ENOSPC);
	assert_int_equal(errseq_counter_snapshot(&c, &s, 0), 0);
	assert_int_equal(errseq_check_and_advance(&c.errseq, &sub), -ENOSPC);
	assert_int_equal(c.errseq & ERRSEQ_SEEN, ERRSEQ_SEEN);
	assert_int_equal(errseq_counter_check(&c, &s), 0);
	/* And a snapshot of a seen value masks SEEN. */
	assert_int_equal(errseq_counter_snapshot(&c, &s, 0), 0);
	assert_int_equal(s.errseq, ENOSPC);
	assert_int_equal(errseq_counter_check(&c, &s), 0);
	errseq_counter_set(&c, -ENOSPC);
	assert_int_equal(errseq_counter_check(&c, &s), -ENOSPC);
}

/* TCNT (c): a snapshot of instance A against a re-created instance B. */
static void test_tcnt_c_foreign_or_recreated_instance_is_eio(void **state)
{
	struct errseq_counter a, b;
	struct errseq_snapshot s;

	errseq_counter_init(&a);
	assert_int_equal(errseq_counter_snapshot(&a, &s, 0), 0);
	assert_int_equal(errseq_counter_check(&a, &s), 0);
	/* Same words (all zero), different id. */
	errseq_counter_init(&b);
	assert_int_equal(errseq_counter_check(&b, &s), -EIO);
	/* The same memory re-initialised is another instance. */
	errseq_counter_init(&a);
	assert_int_equal(errseq_counter_check(&a, &s), -EIO);
}

static void test_changed_without_errno_is_eio(void **state)
{
	struct errseq_counter c;
	struct errseq_snapshot s;

	errseq_counter_init(&c);
	assert_int_equal(errseq_counter_snapshot(&c, &s, 0), 0);
	/*
	 * Same id, but words the counter never held while its errseq word
	 * is still the epoch: must not read as clean.
	 */
	s.errseq = 0x2005;
	assert_int_equal(errseq_counter_check(&c, &s), -EIO);
	s.errseq = 0;
	s.errors = 3;
	assert_int_equal(errseq_counter_check(&c, &s), -EIO);
}

/* TCNT (d) + the 2^19 wrap: plain errseq misses it, the counter not. */
static void test_tcnt_d_full_wrap_detected_by_counter_only(void **state)
{
	struct errseq_counter c;
	struct errseq_snapshot s;
	errseq_t sub = 0, plain;
	uint32_t i;

	errseq_counter_init(&c);
	errseq_counter_set(&c, -EIO);
	errseq_check_and_advance(&c.errseq, &sub);
	assert_int_equal(errseq_counter_snapshot(&c, &s, 0), 0);
	plain = errseq_sample(&c.errseq);
	for (i = 0; i < WRAP_CYCLES; i++) {
		errseq_counter_set(&c, -EIO);
		errseq_check_and_advance(&c.errseq, &sub);
	}
	/* The hole exists ... */
	assert_int_equal(c.errseq, plain);
	assert_int_equal(errseq_check(&c.errseq, plain), 0);
	/* ... and the counter closes it. */
	assert_int_equal(errseq_counter_check(&c, &s), -EIO);
}

static void test_wrap_seeded_near_top_detected(void **state)
{
	struct errseq_counter c;
	struct errseq_snapshot s;
	errseq_t sub;
	int i;

	errseq_counter_init(&c);
	/* Seed the word 4 cycles before it wraps back to 0x1005. */
	c.errseq = (0u - 4 * ERRSEQ_CTR_INC) | ERRSEQ_SEEN | EIO;
	c.errors = 0xfffffffe; /* `errors` wraps as well */
	sub = c.errseq;
	assert_int_equal(errseq_counter_snapshot(&c, &s, 0), 0);
	for (i = 0; i < 5; i++) {
		errseq_counter_set(&c, -EIO);
		errseq_check_and_advance(&c.errseq, &sub);
	}
	assert_int_equal(c.errseq, 0x1005 + ERRSEQ_CTR_INC);
	assert_int_equal(errseq_counter_check(&c, &s), -EIO);
}

static void test_snapshot_refuse_flag(void **state)
{
	struct errseq_counter c;
	struct errseq_snapshot s, before;
	errseq_t sub = 0;

	errseq_counter_init(&c);
	/* No error: fine. */
	assert_int_equal(
		errseq_counter_snapshot(&c, &s, ERRSEQ_SNAPSHOT_REFUSE), 0);
	errseq_counter_set(&c, -EIO);
	memcpy(&before, &s, sizeof(s));
	assert_int_equal(
		errseq_counter_snapshot(&c, &s, ERRSEQ_SNAPSHOT_REFUSE), -EIO);
	/* Not written on failure. */
	assert_memory_equal(&before, &s, sizeof(s));
	/* Refusing never marks the error seen. */
	assert_int_equal(c.errseq, EIO);
	errseq_check_and_advance(&c.errseq, &sub);
	assert_int_equal(
		errseq_counter_snapshot(&c, &s,
					ERRSEQ_SNAPSHOT_REFUSE |
						ERRSEQ_SNAPSHOT_NOWAIT),
		0);
	assert_int_equal(errseq_counter_check(&c, &s), 0);
}

static void test_snapshot_rejects_unknown_flags(void **state)
{
	struct errseq_counter c;
	struct errseq_snapshot s;

	errseq_counter_init(&c);
	assert_int_equal(errseq_counter_snapshot(&c, &s, 4), -EINVAL);
	assert_int_equal(errseq_counter_snapshot(&c, &s, ~0u), -EINVAL);
}

static void test_snapshot_records_ids(void **state)
{
	struct errseq_counter c;
	struct errseq_snapshot s;
	uint8_t boot[ERRSEQ_ID_SIZE];

	errseq_counter_init(&c);
	assert_int_equal(errseq_counter_snapshot(&c, &s, 0), 0);
	assert_memory_equal(s.instance, c.instance, ERRSEQ_ID_SIZE);
	assert_int_equal(errseq_boot_id(boot), 0);
	assert_memory_equal(s.boot_id, boot, ERRSEQ_ID_SIZE);
	assert_int_equal(errseq_snapshot_same_boot(&s), 1);
}

static void test_check_and_snapshot_never_write(void **state)
{
	struct errseq_counter c, copy;
	struct errseq_snapshot s;
	int i;

	errseq_counter_init(&c);
	errseq_counter_set(&c, -EIO);
	assert_int_equal(errseq_counter_snapshot(&c, &s, 0), 0);
	errseq_counter_set(&c, -EIO);
	memcpy(&copy, &c, sizeof(c));
	for (i = 0; i < 100; i++) {
		assert_int_equal(errseq_counter_check(&c, &s), -EIO);
		assert_int_equal(errseq_counter_snapshot(&c, &s, 0), 0);
		assert_int_equal(errseq_counter_check(&c, &s), 0);
		s.errors--;
	}
	assert_memory_equal(&copy, &c, sizeof(c));
	/* The error is still unseen: a late opener still gets it. */
	assert_int_equal(errseq_sample(&c.errseq), 0);
}

/* TVOL on the counter: sticky for every check, consumers change nothing. */
static void test_tvol_counter_observer_is_sticky(void **state)
{
	struct errseq_counter c;
	struct errseq_snapshot s;
	errseq_t sub = 0;
	int i;

	errseq_counter_init(&c);
	assert_int_equal(
		errseq_counter_snapshot(&c, &s, ERRSEQ_SNAPSHOT_REFUSE), 0);
	assert_int_equal(errseq_counter_check(&c, &s), 0);
	errseq_counter_set(&c, -ENOSPC);
	for (i = 0; i < 5; i++) {
		assert_int_equal(errseq_counter_check(&c, &s), -ENOSPC);
		(void)errseq_check_and_advance(&c.errseq, &sub);
	}
}

/* NOWAIT under a racing setter: only 0 or -EAGAIN, never a torn miss. */
struct nowait_arg {
	struct errseq_counter *c;
	int stop;
};

static void *nowait_setter(void *p)
{
	struct nowait_arg *a = p;
	errseq_t sub = 0;

	while (!__atomic_load_n(&a->stop, __ATOMIC_ACQUIRE)) {
		errseq_counter_set(a->c, -EIO);
		(void)errseq_check_and_advance(&a->c->errseq, &sub);
	}
	return NULL;
}

static void test_snapshot_nowait_under_racing_setter(void **state)
{
	struct errseq_counter c;
	struct errseq_snapshot s;
	struct nowait_arg a = {&c, 0};
	pthread_t t;
	int i, r, again = 0, ok = 0;

	errseq_counter_init(&c);
	assert_int_equal(pthread_create(&t, NULL, nowait_setter, &a), 0);
	/* Let the setter get going, then race it (bounded, not timed). */
	while (__atomic_load_n(&c.errors, __ATOMIC_ACQUIRE) < 1000)
		sched_yield();
	for (i = 0; i < 2000000 && again < 100; i++) {
		r = errseq_counter_snapshot(&c, &s, ERRSEQ_SNAPSHOT_NOWAIT);
		assert_true(r == 0 || r == -EAGAIN);
		if (r)
			again++;
		else
			ok++;
		r = errseq_counter_snapshot(&c, &s, 0);
		assert_true(r == 0 || r == -EAGAIN);
	}
	__atomic_store_n(&a.stop, 1, __ATOMIC_RELEASE);
	pthread_join(t, NULL);
	print_message("# nowait: %d snapshots, %d -EAGAIN\n", ok, again);
	assert_int_equal(errseq_counter_snapshot(&c, &s, 0), 0);
	errseq_counter_set(&c, -EIO);
	assert_int_equal(errseq_counter_check(&c, &s), -EIO);
}

/*
 * Reference model of two counters and their snapshots: errno/seen/ctr
 * and `errors` as plain integers, a generation number standing in for
 * the instance id (bumped by re-initialisation).
 */
struct cmodel {
	int err, seen;
	uint32_t ctr, errors;
	int gen;
};

struct smodel {
	int valid;
	int err;
	uint32_t ctr, errors;
	int gen;
};

static void cmodel_fail(uint64_t seed, unsigned long step, const char *what)
{
	print_error("counter model mismatch: seed=0x%llx step=%lu op=%s\n",
		    (unsigned long long)seed, step, what);
	fail();
}

static errseq_t cmodel_pack(const struct cmodel *m)
{
	return (m->ctr % WRAP_CYCLES) << 13 | (uint32_t)m->seen << 12 |
	       (uint32_t)m->err;
}

static int smodel_check(const struct cmodel *m, const struct smodel *s)
{
	if (s->gen != m->gen)
		return -EIO;
	if (s->err == m->err && s->ctr == m->ctr && s->errors == m->errors)
		return 0;
	return m->err ? -m->err : -EIO;
}

#define CM_SNAPS 8

static void test_reference_model_counter_and_snapshots(void **state)
{
	static const int errs[] = {-EIO, -EIO, -ENOSPC, -EDQUOT, 0, 1};
	const unsigned long steps = 100000;
	uint64_t seed = unit_seed(), rng = seed | 1;
	struct errseq_counter c[2];
	struct cmodel m[2];
	struct errseq_snapshot s[CM_SNAPS];
	struct smodel sm[CM_SNAPS];
	errseq_t sub[2] = {0, 0};
	int gens = 0, k;
	unsigned long step;

	print_message("# counter model seed=0x%llx (ERRSEQ_TEST_SEED)\n",
		      (unsigned long long)seed);
	sys_fault_reset();
	memset(sm, 0, sizeof(sm));
	for (k = 0; k < 2; k++) {
		errseq_counter_init(&c[k]);
		memset(&m[k], 0, sizeof(m[k]));
		m[k].gen = ++gens;
	}

	for (step = 0; step < steps; step++) {
		uint32_t op = unit_rand_below(&rng, 16);
		int i = (int)unit_rand_below(&rng, 2);
		int j = (int)unit_rand_below(&rng, CM_SNAPS);
		int want, got;

		if (op < 6) {
			int err = errs[unit_rand_below(
				&rng, sizeof(errs) / sizeof(errs[0]))];

			want = (err < 0) ? 0 : -EINVAL;
			got = errseq_counter_set(&c[i], err);
			if (err < 0) {
				if (m[i].seen)
					m[i].ctr++;
				m[i].seen = 0;
				m[i].err = -err;
				m[i].errors++;
			}
			if (want != got)
				cmodel_fail(seed, step, "set");
		} else if (op < 9) {
			/* A real subscriber consumes the errseq word. */
			if (!(sub[i] == cmodel_pack(&m[i])) && m[i].err)
				m[i].seen = 1;
			(void)errseq_check_and_advance(&c[i].errseq, &sub[i]);
		} else if (op < 11) {
			unsigned flags = unit_rand_below(&rng, 2)
						 ? ERRSEQ_SNAPSHOT_REFUSE
						 : ERRSEQ_SNAPSHOT_BASELINE;

			want = (flags && m[i].err && !m[i].seen) ? -EIO : 0;
			got = errseq_counter_snapshot(&c[i], &s[j], flags);
			if (want != got)
				cmodel_fail(seed, step, "snapshot");
			if (!got) {
				sm[j].valid = 1;
				sm[j].err = m[i].err;
				sm[j].ctr = m[i].ctr;
				sm[j].errors = m[i].errors;
				sm[j].gen = m[i].gen;
			}
		} else if (op < 15) {
			if (!sm[j].valid)
				continue;
			want = smodel_check(&m[i], &sm[j]);
			got = errseq_counter_check(&c[i], &s[j]);
			if (want != got)
				cmodel_fail(seed, step, "check");
		} else if (unit_rand_below(&rng, 50) == 0) {
			errseq_counter_init(&c[i]);
			memset(&m[i], 0, sizeof(m[i]));
			m[i].gen = ++gens;
			sub[i] = 0;
		}
		if (c[i].errseq != cmodel_pack(&m[i]) ||
		    c[i].errors != m[i].errors)
			cmodel_fail(seed, step, "words");
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_init_zeroes_words_and_draws_id),
		cmocka_unit_test(test_instance_ids_are_distinct),
		cmocka_unit_test(
			test_instance_ids_distinct_without_random_pool),
		cmocka_unit_test(test_set_rejects_invalid_err_without_change),
		cmocka_unit_test(test_set_counts_every_valid_set),
		cmocka_unit_test(test_tcnt_a_repeat_of_unseen_error_detected),
		cmocka_unit_test(
			test_tcnt_b_seen_by_subscriber_is_not_new_error),
		cmocka_unit_test(
			test_tcnt_c_foreign_or_recreated_instance_is_eio),
		cmocka_unit_test(test_changed_without_errno_is_eio),
		cmocka_unit_test(
			test_tcnt_d_full_wrap_detected_by_counter_only),
		cmocka_unit_test(test_wrap_seeded_near_top_detected),
		cmocka_unit_test(test_snapshot_refuse_flag),
		cmocka_unit_test(test_snapshot_rejects_unknown_flags),
		cmocka_unit_test(test_snapshot_records_ids),
		cmocka_unit_test(test_check_and_snapshot_never_write),
		cmocka_unit_test(test_tvol_counter_observer_is_sticky),
		cmocka_unit_test(test_snapshot_nowait_under_racing_setter),
		cmocka_unit_test(test_reference_model_counter_and_snapshots),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

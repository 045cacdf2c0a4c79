// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * test_snapshot.c - unit tests of lib/snapshot.c and lib/file.c.
 *
 * CRC-32C vectors, the exact version 1 encoding, the decoder's refusal of
 * every corrupted field, truncation, trailing bytes and bit flips, save
 * and load through real files, and fault injection: every system call of
 * a save or a load fails in turn (EIO, ENOSPC) through sys_fault.c; the
 * previous file must stay intact and no temp file may be left behind.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "errseq/counter.h"
#include "sys_fault.h"
#include "unit.h"

#define SNAP_SIZE ERRSEQ_SNAPSHOT_ENCODED_SIZE

static void sample_snapshot(struct errseq_snapshot *s, uint8_t fill)
{
	memset(s, 0, sizeof(*s));
	s->errseq = 0x2005;
	s->errors = 0x01020304;
	memset(s->boot_id, fill, sizeof(s->boot_id));
	memset(s->instance, fill ^ 0xff, sizeof(s->instance));
}

/* Runs first: the boot id is cached after the first successful read. */
static void test_boot_id_errors_parsing_and_cache(void **state)
{
	static const uint8_t want[ERRSEQ_ID_SIZE] = {
		0xd9, 0x40, 0xe3, 0xcc, 0x61, 0x1c, 0x4f, 0x57,
		0x8a, 0xed, 0x85, 0xc0, 0xc5, 0xad, 0x1f, 0xe9,
	};
	struct errseq_snapshot s;
	uint8_t id[ERRSEQ_ID_SIZE];

	sample_snapshot(&s, 1);
	sys_fault_reset();
	sys_fault_arm(1, EACCES);
	assert_int_equal(errseq_snapshot_same_boot(&s), -EACCES);
	sys_fault_arm(1, EIO);
	memset(id, 0x55, sizeof(id));
	assert_int_equal(errseq_boot_id(id), -EIO);
	assert_memory_equal(id, (uint8_t[ERRSEQ_ID_SIZE]){0}, sizeof(id));
	/* Content that is not a UUID is refused. */
	{
		static const char *const bad[] = {
			"",
			"\n",
			"d940e3cc-611c-4f57-8aed-85c0c5ad1fe",
			"d940e3cc-611c-4f57-8aed-85c0c5ad1fe9\n\n",
			"d940e3cc-611c-4f57-8aed-85c0c5ad1fe9x",
			"d940e3cc+611c-4f57-8aed-85c0c5ad1fe9",
			"d940e3cc-611c-4f57-8aed-85c0c5ad1fg9",
			"d940e3cc-611c-4f57-8aed-85c0c5ad1f:9",
			"g940e3cc-611c-4f57-8aed-85c0c5ad1fe9",
			"d940e3cc-611c-4f57-8aed-85c0c5ad1fe9-d940",
		};
		size_t i;

		for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			sys_fault_reset();
			sys_fault_fake_read(bad[i], strlen(bad[i]));
			assert_int_equal(errseq_boot_id(id), -EINVAL);
		}
	}
	/* A failing read (call 2) is reported too. */
	sys_fault_arm(2, EIO);
	assert_int_equal(errseq_boot_id(id), -EIO);
	/*
	 * The first good read: upper case without a newline is accepted
	 * (and a failing close ignored). It is cached, so this fake id is
	 * the boot id for the rest of this test program.
	 */
	sys_fault_reset();
	sys_fault_fake_read("D940E3CC-611C-4F57-8AED-85C0C5AD1FE9", 36);
	sys_fault_arm(4, EIO);
	assert_int_equal(errseq_boot_id(id), 0);
	assert_memory_equal(id, want, sizeof(want));
	/* openat, read, read (end of file), close */
	assert_int_equal(sys_fault_calls(), 4);
	sys_fault_reset();
	memset(id, 0, sizeof(id));
	assert_int_equal(errseq_boot_id(id), 0);
	assert_memory_equal(id, want, sizeof(want));
	assert_int_equal(sys_fault_calls(), 0);
}

static void test_same_boot(void **state)
{
	struct errseq_snapshot s;

	sample_snapshot(&s, 0);
	assert_int_equal(errseq_boot_id(s.boot_id), 0);
	assert_int_equal(errseq_snapshot_same_boot(&s), 1);
	s.boot_id[15] ^= 1;
	assert_int_equal(errseq_snapshot_same_boot(&s), 0);
	memset(s.boot_id, 0, sizeof(s.boot_id));
	assert_int_equal(errseq_snapshot_same_boot(&s), 0);
}

static void test_crc32c_known_vectors(void **state)
{
	uint8_t buf[32];
	int i;

	assert_int_equal(errseq_crc32c(0, "123456789", 9), 0xe3069283);
	assert_int_equal(errseq_crc32c(0, "", 0), 0);
	/* RFC 3720 B.4 */
	memset(buf, 0, sizeof(buf));
	assert_int_equal(errseq_crc32c(0, buf, 32), 0x8a9136aa);
	memset(buf, 0xff, sizeof(buf));
	assert_int_equal(errseq_crc32c(0, buf, 32), 0x62a8ab43);
	for (i = 0; i < 32; i++)
		buf[i] = (uint8_t)i;
	assert_int_equal(errseq_crc32c(0, buf, 32), 0x46dd794e);
	/* Chaining. */
	assert_int_equal(errseq_crc32c(errseq_crc32c(0, buf, 13), buf + 13, 19),
			 0x46dd794e);
}

static void test_encode_exact_bytes(void **state)
{
	static const uint8_t head[] = {
		'E',  'S',  'Q',  'S',
		1,    0,    64,	  0, /* magic, version, length */
		0,    0,    0,	  0, /* flags */
		0x05, 0x20, 0,	  0, /* errseq */
		0x04, 0x03, 0x02, 0x01, /* errors */
		0,    0,    0,	  0, /* reserved */
	};
	struct errseq_snapshot s;
	uint8_t buf[SNAP_SIZE + 8];
	uint32_t crc;

	sample_snapshot(&s, 0x11);
	memset(buf, 0xee, sizeof(buf));
	assert_int_equal(errseq_snapshot_encode(&s, buf, sizeof(buf)),
			 SNAP_SIZE);
	assert_memory_equal(buf, head, sizeof(head));
	assert_memory_equal(buf + 24, s.boot_id, 16);
	assert_memory_equal(buf + 40, s.instance, 16);
	assert_memory_equal(buf + 56, (uint8_t[4]){0}, 4);
	crc = errseq_crc32c(0, buf, 60);
	assert_int_equal(buf[60] | buf[61] << 8 | buf[62] << 16 |
				 (uint32_t)buf[63] << 24,
			 crc);
	/* Nothing beyond the encoding is touched. */
	assert_int_equal(buf[SNAP_SIZE], 0xee);
}

static void test_encode_rejects_small_buffer_and_seen(void **state)
{
	struct errseq_snapshot s;
	uint8_t buf[SNAP_SIZE];

	sample_snapshot(&s, 2);
	assert_int_equal(errseq_snapshot_encode(&s, buf, SNAP_SIZE - 1),
			 -EINVAL);
	assert_int_equal(errseq_snapshot_encode(&s, buf, 0), -EINVAL);
	s.errseq |= ERRSEQ_SEEN;
	assert_int_equal(errseq_snapshot_encode(&s, buf, sizeof(buf)), -EINVAL);
}

static void test_decode_round_trip(void **state)
{
	struct errseq_snapshot s, d;
	uint8_t buf[SNAP_SIZE];
	int fill;

	for (fill = 0; fill < 256; fill += 15) {
		sample_snapshot(&s, (uint8_t)fill);
		s.errors = (uint32_t)fill * 0x01010101u;
		assert_int_equal(errseq_snapshot_encode(&s, buf, sizeof(buf)),
				 SNAP_SIZE);
		memset(&d, 0x77, sizeof(d));
		assert_int_equal(errseq_snapshot_decode(buf, sizeof(buf), &d),
				 0);
		assert_memory_equal(&s, &d, sizeof(s));
	}
}

static void encoded(uint8_t buf[SNAP_SIZE])
{
	struct errseq_snapshot s;

	sample_snapshot(&s, 0x42);
	assert_int_equal(errseq_snapshot_encode(&s, buf, SNAP_SIZE), SNAP_SIZE);
}

static void refix_crc(uint8_t buf[SNAP_SIZE])
{
	uint32_t crc = errseq_crc32c(0, buf, 60);

	buf[60] = (uint8_t)crc;
	buf[61] = (uint8_t)(crc >> 8);
	buf[62] = (uint8_t)(crc >> 16);
	buf[63] = (uint8_t)(crc >> 24);
}

static void test_decode_rejects_every_bit_flip(void **state)
{
	struct errseq_snapshot d, untouched;
	uint8_t buf[SNAP_SIZE];
	int bit;

	memset(&untouched, 0x33, sizeof(untouched));
	for (bit = 0; bit < SNAP_SIZE * 8; bit++) {
		encoded(buf);
		buf[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		d = untouched;
		assert_int_equal(errseq_snapshot_decode(buf, sizeof(buf), &d),
				 -EINVAL);
		assert_memory_equal(&d, &untouched, sizeof(d));
	}
}

/*
 * Structural fields corrupted, crc recomputed so only the field check
 * can catch them.
 */
static void test_decode_rejects_every_corrupted_field(void **state)
{
	static const struct {
		int off;
		uint8_t val;
	} bad[] = {
		{0, 'X'},   {1, 0},	{2, 'q'}, {3, 0xff}, /* magic */
		{4, 0},	    {4, 2},	{5, 1}, /* version */
		{6, 63},    {6, 65},	{7, 1}, /* length */
		{8, 1},	    {11, 0x80}, /* flags */
		{13, 0x30}, /* ERRSEQ_SEEN */
		{20, 1},    {23, 1}, /* reserved */
		{56, 1},    {59, 0x80}, /* reserved */
	};
	struct errseq_snapshot d;
	uint8_t buf[SNAP_SIZE];
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		encoded(buf);
		buf[bad[i].off] = bad[i].val;
		refix_crc(buf);
		assert_int_equal(errseq_snapshot_decode(buf, sizeof(buf), &d),
				 -EINVAL);
	}
	/* A wrong crc alone. */
	encoded(buf);
	buf[63] ^= 0x10;
	assert_int_equal(errseq_snapshot_decode(buf, sizeof(buf), &d), -EINVAL);
	/* The data fields are free; with a valid crc they decode. */
	encoded(buf);
	buf[16] ^= 0xff;
	buf[30] ^= 0xff;
	buf[50] ^= 0xff;
	refix_crc(buf);
	assert_int_equal(errseq_snapshot_decode(buf, sizeof(buf), &d), 0);
}

static void test_decode_rejects_truncated_and_trailing(void **state)
{
	struct errseq_snapshot d;
	uint8_t buf[SNAP_SIZE * 2];
	size_t len;

	memset(buf, 0, sizeof(buf));
	encoded(buf);
	for (len = 0; len < SNAP_SIZE; len++)
		assert_int_equal(errseq_snapshot_decode(buf, len, &d), -EINVAL);
	for (len = SNAP_SIZE + 1; len <= sizeof(buf); len++)
		assert_int_equal(errseq_snapshot_decode(buf, len, &d), -EINVAL);
	assert_int_equal(errseq_snapshot_decode(NULL, SNAP_SIZE, &d), -EINVAL);
	assert_int_equal(errseq_snapshot_decode(buf, SNAP_SIZE, &d), 0);
}

/* A fresh directory per test, removed with its contents afterwards. */
struct tdir {
	char path[64];
	int fd;
};

static int tdir_setup(void **state)
{
	static struct tdir t;

	snprintf(t.path, sizeof(t.path), "/tmp/errseq-unit-XXXXXX");
	if (!mkdtemp(t.path))
		return -1;
	t.fd = open(t.path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (t.fd < 0)
		return -1;
	sys_fault_reset();
	*state = &t;
	return 0;
}

static int tdir_teardown(void **state)
{
	struct tdir *t = *state;
	struct dirent *de;
	DIR *d;

	sys_fault_reset();
	d = opendir(t->path);
	while (d && (de = readdir(d))) {
		if (strcmp(de->d_name, ".") != 0 &&
		    strcmp(de->d_name, "..") != 0)
			(void)unlinkat(t->fd, de->d_name, 0);
	}
	if (d)
		closedir(d);
	close(t->fd);
	return rmdir(t->path);
}

/* Number of entries in the directory, and whether only @name is there. */
static int tdir_entries(struct tdir *t, const char *name, int *ret_only)
{
	struct dirent *de;
	int n = 0, only = 1;
	DIR *d = opendir(t->path);

	assert_non_null(d);
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		n++;
		if (!name || strcmp(de->d_name, name) != 0)
			only = 0;
	}
	closedir(d);
	if (ret_only)
		*ret_only = only;
	return n;
}

static void write_file(struct tdir *t, const char *name, const void *buf,
		       size_t len)
{
	int fd = openat(t->fd, name, O_WRONLY | O_CREAT | O_TRUNC, 0644);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, buf, len), (ssize_t)len);
	close(fd);
}

static void test_save_then_load(void **state)
{
	struct tdir *t = *state;
	struct errseq_snapshot s, d;
	int only;

	sample_snapshot(&s, 3);
	assert_int_equal(errseq_snapshot_save(t->fd, "snap", &s), 0);
	assert_int_equal(errseq_snapshot_load(t->fd, "snap", &d), 0);
	assert_memory_equal(&s, &d, sizeof(s));
	sample_snapshot(&s, 4);
	assert_int_equal(errseq_snapshot_save(t->fd, "snap", &s), 0);
	assert_int_equal(errseq_snapshot_load(t->fd, "snap", &d), 0);
	assert_memory_equal(&s, &d, sizeof(s));
	assert_int_equal(tdir_entries(t, "snap", &only), 1);
	assert_true(only);
}

static void test_save_of_counter_snapshot_checks_clean(void **state)
{
	struct tdir *t = *state;
	struct errseq_counter c;
	struct errseq_snapshot s, d;

	errseq_counter_init(&c);
	errseq_counter_set(&c, -EIO);
	assert_int_equal(errseq_counter_snapshot(&c, &s, 0), 0);
	assert_int_equal(errseq_snapshot_save(t->fd, "c", &s), 0);
	assert_int_equal(errseq_snapshot_load(t->fd, "c", &d), 0);
	assert_int_equal(errseq_snapshot_same_boot(&d), 1);
	assert_int_equal(errseq_counter_check(&c, &d), 0);
	errseq_counter_set(&c, -EIO);
	assert_int_equal(errseq_counter_check(&c, &d), -EIO);
}

static void test_load_rejects_bad_files(void **state)
{
	struct tdir *t = *state;
	struct errseq_snapshot s, d;
	uint8_t buf[SNAP_SIZE * 4];

	assert_int_equal(errseq_snapshot_load(t->fd, "missing", &d), -ENOENT);
	assert_int_equal(errseq_snapshot_load(t->fd, "", &d), -EINVAL);
	assert_int_equal(errseq_snapshot_load(t->fd, NULL, &d), -EINVAL);
	/* Empty, short, long, garbage. */
	write_file(t, "empty", "", 0);
	assert_int_equal(errseq_snapshot_load(t->fd, "empty", &d), -EINVAL);
	sample_snapshot(&s, 5);
	assert_int_equal(errseq_snapshot_encode(&s, buf, sizeof(buf)),
			 SNAP_SIZE);
	write_file(t, "short", buf, SNAP_SIZE - 1);
	assert_int_equal(errseq_snapshot_load(t->fd, "short", &d), -EINVAL);
	memset(buf + SNAP_SIZE, 0, sizeof(buf) - SNAP_SIZE);
	write_file(t, "long", buf, SNAP_SIZE + 1);
	assert_int_equal(errseq_snapshot_load(t->fd, "long", &d), -EINVAL);
	write_file(t, "longer", buf, sizeof(buf));
	assert_int_equal(errseq_snapshot_load(t->fd, "longer", &d), -EINVAL);
	memset(buf, 'x', SNAP_SIZE);
	write_file(t, "garbage", buf, SNAP_SIZE);
	assert_int_equal(errseq_snapshot_load(t->fd, "garbage", &d), -EINVAL);
	/* Not regular files: a directory and a FIFO (must not block). */
	assert_int_equal(mkdirat(t->fd, "dir", 0755), 0);
	assert_int_equal(errseq_snapshot_load(t->fd, "dir", &d), -EINVAL);
	unlinkat(t->fd, "dir", AT_REMOVEDIR);
	assert_int_equal(mkfifoat(t->fd, "fifo", 0644), 0);
	assert_int_equal(errseq_snapshot_load(t->fd, "fifo", &d), -EINVAL);
	/* Bad directory fd. */
	assert_int_equal(errseq_snapshot_load(-1, "x", &d), -EBADF);
}

static void test_replace_rejects_bad_names(void **state)
{
	struct tdir *t = *state;
	struct errseq_snapshot s;
	char longname[300];

	sample_snapshot(&s, 6);
	assert_int_equal(errseq_snapshot_save(t->fd, "", &s), -EINVAL);
	assert_int_equal(errseq_snapshot_save(t->fd, NULL, &s), -EINVAL);
	assert_int_equal(errseq_snapshot_save(t->fd, "a/b", &s), -EINVAL);
	assert_int_equal(errseq_snapshot_save(t->fd, ".", &s), -EINVAL);
	assert_int_equal(errseq_snapshot_save(t->fd, "..", &s), -EINVAL);
	memset(longname, 'n', sizeof(longname));
	longname[240] = '\0';
	assert_int_equal(errseq_snapshot_save(t->fd, longname, &s), -EINVAL);
	assert_int_equal(errseq_file_replace(t->fd, "x", NULL, 1), -EINVAL);
	s.errseq |= ERRSEQ_SEEN;
	assert_int_equal(errseq_snapshot_save(t->fd, "x", &s), -EINVAL);
	s.errseq &= ~ERRSEQ_SEEN;
	assert_int_equal(errseq_snapshot_save(-1, "x", &s), -EBADF);
	assert_int_equal(tdir_entries(t, NULL, NULL), 0);
	/* An empty file is a valid replacement. */
	assert_int_equal(errseq_file_replace(t->fd, "x", NULL, 0), 0);
}

/*
 * The system calls of a successful save, in order. The fault test fails
 * each one in turn; the expected outcome of each is listed here.
 */
enum save_outcome {
	SAVE_FAILS_OLD_INTACT, /* error returned, previous file intact */
	SAVE_SUCCEEDS, /* the failure is absorbed */
	SAVE_FAILS_NEW_IN_PLACE, /* rename done, durability not proven */
};

static const struct {
	const char *call;
	enum save_outcome outcome;
} save_calls[] = {
	{"openat(dir)", SAVE_FAILS_OLD_INTACT},
	{"getrandom", SAVE_SUCCEEDS}, /* fallback temp name */
	{"openat(tmp)", SAVE_FAILS_OLD_INTACT},
	{"write", SAVE_FAILS_OLD_INTACT},
	{"fsync(tmp)", SAVE_FAILS_OLD_INTACT},
	{"close(tmp)", SAVE_FAILS_OLD_INTACT},
	{"renameat", SAVE_FAILS_OLD_INTACT},
	{"fsync(dir)", SAVE_FAILS_NEW_IN_PLACE},
	{"close(dir)", SAVE_SUCCEEDS}, /* read-only fd */
};

static void test_save_fails_cleanly_at_every_syscall(void **state)
{
	static const int errs[] = {EIO, ENOSPC};
	struct tdir *t = *state;
	struct errseq_snapshot old, new, d;
	unsigned int i, n;
	size_t k;
	int only, r;

	sample_snapshot(&old, 7);
	sample_snapshot(&new, 8);
	sys_fault_reset();
	assert_int_equal(errseq_snapshot_save(t->fd, "snap", &old), 0);
	n = sys_fault_calls();
	assert_int_equal(n, sizeof(save_calls) / sizeof(save_calls[0]));

	for (k = 0; k < sizeof(errs) / sizeof(errs[0]); k++) {
		for (i = 1; i <= n; i++) {
			const char *call = save_calls[i - 1].call;

			assert_int_equal(
				errseq_snapshot_save(t->fd, "snap", &old), 0);
			sys_fault_arm(i, errs[k]);
			r = errseq_snapshot_save(t->fd, "snap", &new);
			sys_fault_reset();
			print_message("# save, %s fails with %d: %d\n", call,
				      errs[k], r);
			assert_int_equal(tdir_entries(t, "snap", &only), 1);
			assert_true(only);
			assert_int_equal(
				errseq_snapshot_load(t->fd, "snap", &d), 0);
			switch (save_calls[i - 1].outcome) {
			case SAVE_FAILS_OLD_INTACT:
				assert_int_equal(r, -errs[k]);
				assert_memory_equal(&d, &old, sizeof(d));
				break;
			case SAVE_FAILS_NEW_IN_PLACE:
				assert_int_equal(r, -errs[k]);
				assert_memory_equal(&d, &new, sizeof(d));
				break;
			case SAVE_SUCCEEDS:
				assert_int_equal(r, 0);
				assert_memory_equal(&d, &new, sizeof(d));
				break;
			}
		}
	}
}

static void test_save_with_short_and_zero_writes(void **state)
{
	struct tdir *t = *state;
	struct errseq_snapshot old, new, d;
	int only;

	sample_snapshot(&old, 9);
	sample_snapshot(&new, 10);
	assert_int_equal(errseq_snapshot_save(t->fd, "snap", &old), 0);
	sys_fault_zero_writes(true);
	assert_int_equal(errseq_snapshot_save(t->fd, "snap", &new), -ENOSPC);
	sys_fault_reset();
	assert_int_equal(errseq_snapshot_load(t->fd, "snap", &d), 0);
	assert_memory_equal(&d, &old, sizeof(d));
	sys_fault_short_writes(true);
	assert_int_equal(errseq_snapshot_save(t->fd, "snap", &new), 0);
	/* One byte per write. */
	assert_true(sys_fault_calls() >= SNAP_SIZE);
	sys_fault_reset();
	assert_int_equal(errseq_snapshot_load(t->fd, "snap", &d), 0);
	assert_memory_equal(&d, &new, sizeof(d));
	assert_int_equal(tdir_entries(t, "snap", &only), 1);
	assert_true(only);
}

static void test_save_retries_temp_name_collision(void **state)
{
	struct tdir *t = *state;
	struct errseq_snapshot s, d;
	int only;

	sample_snapshot(&s, 11);
	/* Call 3 is the temp open: a collision draws a new name. */
	sys_fault_arm(3, EEXIST);
	assert_int_equal(errseq_snapshot_save(t->fd, "snap", &s), 0);
	sys_fault_reset();
	assert_int_equal(errseq_snapshot_load(t->fd, "snap", &d), 0);
	assert_int_equal(tdir_entries(t, "snap", &only), 1);
	assert_true(only);
}

static const char *const load_calls[] = {"openat", "fstat", "read", "read(eof)",
					 "close"};

static void test_load_fails_cleanly_at_every_syscall(void **state)
{
	struct tdir *t = *state;
	struct errseq_snapshot s, d, untouched;
	unsigned int i, n;
	int r;

	sample_snapshot(&s, 12);
	assert_int_equal(errseq_snapshot_save(t->fd, "snap", &s), 0);
	sys_fault_reset();
	assert_int_equal(errseq_snapshot_load(t->fd, "snap", &d), 0);
	n = sys_fault_calls();
	assert_int_equal(n, sizeof(load_calls) / sizeof(load_calls[0]));
	memset(&untouched, 0x5a, sizeof(untouched));
	for (i = 1; i <= n; i++) {
		d = untouched;
		sys_fault_arm(i, EIO);
		r = errseq_snapshot_load(t->fd, "snap", &d);
		sys_fault_reset();
		print_message("# load, %s fails: %d\n", load_calls[i - 1], r);
		if (i == n) {
			/* Closing a read-only fd cannot lose data. */
			assert_int_equal(r, 0);
			assert_memory_equal(&d, &s, sizeof(d));
		} else {
			assert_int_equal(r, -EIO);
			assert_memory_equal(&d, &untouched, sizeof(d));
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_boot_id_errors_parsing_and_cache),
		cmocka_unit_test(test_same_boot),
		cmocka_unit_test(test_crc32c_known_vectors),
		cmocka_unit_test(test_encode_exact_bytes),
		cmocka_unit_test(test_encode_rejects_small_buffer_and_seen),
		cmocka_unit_test(test_decode_round_trip),
		cmocka_unit_test(test_decode_rejects_every_bit_flip),
		cmocka_unit_test(test_decode_rejects_every_corrupted_field),
		cmocka_unit_test(test_decode_rejects_truncated_and_trailing),
		cmocka_unit_test_setup_teardown(test_save_then_load, tdir_setup,
						tdir_teardown),
		cmocka_unit_test_setup_teardown(
			test_save_of_counter_snapshot_checks_clean, tdir_setup,
			tdir_teardown),
		cmocka_unit_test_setup_teardown(test_load_rejects_bad_files,
						tdir_setup, tdir_teardown),
		cmocka_unit_test_setup_teardown(test_replace_rejects_bad_names,
						tdir_setup, tdir_teardown),
		cmocka_unit_test_setup_teardown(
			test_save_fails_cleanly_at_every_syscall, tdir_setup,
			tdir_teardown),
		cmocka_unit_test_setup_teardown(
			test_save_with_short_and_zero_writes, tdir_setup,
			tdir_teardown),
		cmocka_unit_test_setup_teardown(
			test_save_retries_temp_name_collision, tdir_setup,
			tdir_teardown),
		cmocka_unit_test_setup_teardown(
			test_load_fails_cleanly_at_every_syscall, tdir_setup,
			tdir_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

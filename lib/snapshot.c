// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * snapshot.c - the persistent form of an errseq_counter snapshot.
 *
 * A snapshot saved at unmount lets the next mount prove that no error was
 * recorded in between: same boot, same counter instance, same words. The
 * encoding is explicit little-endian, ERRSEQ_SNAPSHOT_ENCODED_SIZE (64)
 * bytes, never a raw struct:
 *
 *   off size field     meaning
 *     0    4 magic     ERRSEQ_SNAP_MAGIC, the bytes "ESQS"
 *     4    2 version   ERRSEQ_SNAP_VERSION (1); any other is rejected
 *     6    2 length    total length, 64; any other is rejected
 *     8    4 flags     reserved for versioned extensions, must be 0
 *    12    4 errseq    errseq word, ERRSEQ_SEEN always clear
 *    16    4 errors    errors word at the same moment
 *    20    4 reserved  must be 0
 *    24   16 boot_id   /proc/sys/kernel/random/boot_id as 16 raw bytes
 *    40   16 instance  the counter's random instance id
 *    56    4 reserved  must be 0
 *    60    4 crc32c    Castagnoli CRC of bytes 0..59 (seed 0, see below)
 *
 * Stability: version 1 is frozen. A change of layout takes a new version
 * number, and old readers reject it (a snapshot that cannot be read
 * proves nothing, so "reject" means "not clean" to every caller).
 *
 * Trust: the file is not authenticated. The crc catches torn writes and
 * bit rot, not tampering: whoever can write the file can claim "clean".
 * The contents are not secret (no pointers, no keys; the instance id is
 * a random number with no meaning outside the counter). Decoding is
 * strict and total: any odd byte yields -EINVAL, never a crash.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>

#include "errseq/counter.h"
#include "internal.h"

#define ERRSEQ_SNAP_MAGIC 0x53515345u /* "ESQS" as little-endian bytes */
#define ERRSEQ_SNAP_VERSION 1u

/*
 * Field offsets of version 1 (see the table above). Every multi-byte
 * integer is little-endian whatever the host; the two 16-byte ids are
 * opaque byte strings copied as they are.
 */
/* identifies the file type; also catches a file of the wrong kind */
#define ERRSEQ_SNAP_OFF_MAGIC 0
/* layout version; a reader only accepts the versions it knows */
#define ERRSEQ_SNAP_OFF_VERSION 4
/* total encoded length; must equal both the constant and the input */
#define ERRSEQ_SNAP_OFF_LENGTH 6
/* zero in version 1; a later version may define bits here */
#define ERRSEQ_SNAP_OFF_FLAGS 8
/* errseq word as the counter held it, ERRSEQ_SEEN masked off */
#define ERRSEQ_SNAP_OFF_ERRSEQ 12
/* the counter's `errors` word read together with the errseq word */
#define ERRSEQ_SNAP_OFF_ERRORS 16
/* zero; keeps the ids 8-byte aligned inside the record */
#define ERRSEQ_SNAP_OFF_RSVD1 20
/* boot the snapshot was taken in; all zeros if it was unknown */
#define ERRSEQ_SNAP_OFF_BOOT 24
/* the random id of the counter the snapshot was taken from */
#define ERRSEQ_SNAP_OFF_INSTANCE 40
/* zero; room for a future field without moving the crc */
#define ERRSEQ_SNAP_OFF_RSVD2 56
/* CRC-32C of every byte before it; always the last field */
#define ERRSEQ_SNAP_OFF_CRC 60

_Static_assert(ERRSEQ_SNAP_OFF_INSTANCE + ERRSEQ_ID_SIZE ==
		       ERRSEQ_SNAP_OFF_RSVD2,
	       "snapshot fields overlap");
_Static_assert(ERRSEQ_SNAP_OFF_CRC + 4 == ERRSEQ_SNAPSHOT_ENCODED_SIZE,
	       "snapshot encoding size mismatch");
_Static_assert(ERRSEQ_SNAPSHOT_ENCODED_SIZE <= UINT16_MAX,
	       "length field too small");
_Static_assert(sizeof(errseq_t) == 4, "errseq_t must be 32 bits");

/*
 * Fixed-width little-endian accessors. Byte by byte on purpose: no
 * alignment or host-endianness assumptions, and the compiler turns them
 * into single moves where that is allowed.
 */
static void errseq_put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static void errseq_put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

static uint16_t errseq_get16(const uint8_t *p)
{
	return (uint16_t)(p[0] | (p[1] << 8));
}

static uint32_t errseq_get32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

/*
 * CRC-32C (Castagnoli), reflected polynomial 0x82f63b78, one table
 * lookup per byte. The table is built at compile time by the macros so
 * no initialisation is needed and it lives in read-only memory.
 */
#define ERRSEQ_CRC_P 0x82f63b78u
#define ERRSEQ_CRC_1(c) (((c)&1) ? ((c) >> 1) ^ ERRSEQ_CRC_P : (c) >> 1)
#define ERRSEQ_CRC_2(c) ERRSEQ_CRC_1(ERRSEQ_CRC_1(c))
#define ERRSEQ_CRC_8(c) \
	ERRSEQ_CRC_2(ERRSEQ_CRC_2(ERRSEQ_CRC_2(ERRSEQ_CRC_2(c))))
#define ERRSEQ_CRC_E(n) ERRSEQ_CRC_8((uint32_t)(n))
#define ERRSEQ_CRC_R4(n)                                               \
	ERRSEQ_CRC_E(n), ERRSEQ_CRC_E((n) + 1), ERRSEQ_CRC_E((n) + 2), \
		ERRSEQ_CRC_E((n) + 3)
#define ERRSEQ_CRC_R16(n)                                                 \
	ERRSEQ_CRC_R4(n), ERRSEQ_CRC_R4((n) + 4), ERRSEQ_CRC_R4((n) + 8), \
		ERRSEQ_CRC_R4((n) + 12)
#define ERRSEQ_CRC_R64(n)                                                      \
	ERRSEQ_CRC_R16(n), ERRSEQ_CRC_R16((n) + 16), ERRSEQ_CRC_R16((n) + 32), \
		ERRSEQ_CRC_R16((n) + 48)

static const uint32_t errseq_crc32c_table[256] = {
	ERRSEQ_CRC_R64(0), ERRSEQ_CRC_R64(64), ERRSEQ_CRC_R64(128),
	ERRSEQ_CRC_R64(192)};

/**
 * errseq_crc32c - CRC-32C (Castagnoli) of a buffer
 * @crc: 0 to start, or the result of the previous call to continue
 * @buf: the bytes
 * @len: their number
 *
 * Standard CRC-32C (initial value and final xor 0xffffffff, reflected):
 * errseq_crc32c(0, "123456789", 9) is 0xe3069283. Calls chain:
 * crc(crc(0, a), b) equals crc(0, a followed by b).
 *
 * Context: any; pure function.
 * Return: the CRC.
 */
ERRSEQ_EXPORT uint32_t errseq_crc32c(uint32_t crc, const void *buf, size_t len)
{
	const uint8_t *p = buf;

	crc = ~crc;
	while (len--)
		crc = errseq_crc32c_table[(crc ^ *p++) & 0xff] ^ (crc >> 8);
	return ~crc;
}

/* Cached boot id: 0 = not read yet, 1 = being stored, 2 = valid. */
static int errseq_boot_state;
static uint8_t errseq_boot_cache[ERRSEQ_ID_SIZE];

static int errseq_hexval(uint8_t ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

/*
 * Parse the kernel's "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx\n" into 16
 * bytes; anything else is -EINVAL.
 */
static int errseq_parse_uuid(const uint8_t *s, size_t len,
			     uint8_t ret[ERRSEQ_ID_SIZE])
{
	uint8_t out[ERRSEQ_ID_SIZE];
	size_t i, n = 0;

	/* The kernel ends the line with a newline; accept it or not. */
	if (len == 37 && s[36] == '\n')
		len = 36;
	if (len != 36)
		return -EINVAL;
	for (i = 0; i < 36;) {
		int hi, lo;

		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (s[i] != '-')
				return -EINVAL;
			i++;
			continue;
		}
		hi = errseq_hexval(s[i]);
		lo = errseq_hexval(s[i + 1]);
		if (hi < 0 || lo < 0)
			return -EINVAL;
		out[n++] = (uint8_t)(hi << 4 | lo);
		i += 2;
	}
	memcpy(ret, out, sizeof(out));
	return 0;
}

static int errseq_read_boot_id(uint8_t ret[ERRSEQ_ID_SIZE])
{
	uint8_t text[64];
	size_t len = 0;
	ssize_t n;
	int fd, r;

	/* Absolute path: @dirfd-relative lookups do not apply here. */
	fd = errseq_sys_openat(AT_FDCWD, "/proc/sys/kernel/random/boot_id",
			       O_RDONLY | O_CLOEXEC, 0);
	if (fd < 0)
		return fd;
	do {
		n = errseq_sys_read(fd, text + len, sizeof(text) - len);
		if (n < 0)
			break;
		len += (size_t)n;
	} while (n > 0 && len < sizeof(text));
	/* Read-only descriptor: a failing close loses nothing. */
	(void)errseq_sys_close(fd);
	if (n < 0)
		return (int)n;

	r = errseq_parse_uuid(text, len, ret);
	return r;
}

/**
 * errseq_boot_id - the id of the running boot
 * @ret: 16 bytes; the boot id, or zeros on failure
 *
 * Reads /proc/sys/kernel/random/boot_id, which the kernel draws at random
 * at every boot. The first successful read is cached for the life of the
 * process; failures are not cached, so a later call may still succeed.
 *
 * Context: any thread; may open and read a file.
 * Return: 0 on success, -errno if the file cannot be read, -EINVAL if it
 * does not hold a UUID.
 */
ERRSEQ_EXPORT int errseq_boot_id(uint8_t ret[ERRSEQ_ID_SIZE])
{
	uint8_t id[ERRSEQ_ID_SIZE] = {0};
	int expected = 0;
	int r;

	if (__atomic_load_n(&errseq_boot_state, __ATOMIC_ACQUIRE) == 2) {
		memcpy(ret, errseq_boot_cache, ERRSEQ_ID_SIZE);
		return 0;
	}

	r = errseq_read_boot_id(id);
	if (r < 0) {
		memset(ret, 0, ERRSEQ_ID_SIZE);
		return r;
	}

	/* Only the thread that claims the cache writes it. */
	if (__atomic_compare_exchange_n(&errseq_boot_state, &expected, 1, 0,
					__ATOMIC_ACQUIRE, __ATOMIC_RELAXED)) {
		memcpy(errseq_boot_cache, id, sizeof(id));
		__atomic_store_n(&errseq_boot_state, 2, __ATOMIC_RELEASE);
	}
	memcpy(ret, id, sizeof(id));
	return 0;
}

/**
 * errseq_snapshot_encode - serialise a snapshot for storage
 * @snap: the snapshot
 * @buf: where to write ERRSEQ_SNAPSHOT_ENCODED_SIZE bytes
 * @len: size of @buf
 *
 * Writes the version 1 encoding described at the top of this file.
 *
 * Context: any; pure function.
 * Return: ERRSEQ_SNAPSHOT_ENCODED_SIZE, or -EINVAL if @len is too small
 * or @snap has ERRSEQ_SEEN set (no snapshot from this library has).
 */
ERRSEQ_EXPORT int errseq_snapshot_encode(const struct errseq_snapshot *snap,
					 void *buf, size_t len)
{
	uint8_t p[ERRSEQ_SNAPSHOT_ENCODED_SIZE];

	if (len < sizeof(p) || (snap->errseq & ERRSEQ_SEEN))
		return -EINVAL;

	/* Built in a local buffer: reserved fields are zero by memset. */
	memset(p, 0, sizeof(p));
	errseq_put32(p + ERRSEQ_SNAP_OFF_MAGIC, ERRSEQ_SNAP_MAGIC);
	errseq_put16(p + ERRSEQ_SNAP_OFF_VERSION, ERRSEQ_SNAP_VERSION);
	errseq_put16(p + ERRSEQ_SNAP_OFF_LENGTH, sizeof(p));
	errseq_put32(p + ERRSEQ_SNAP_OFF_ERRSEQ, snap->errseq);
	errseq_put32(p + ERRSEQ_SNAP_OFF_ERRORS, snap->errors);
	memcpy(p + ERRSEQ_SNAP_OFF_BOOT, snap->boot_id, ERRSEQ_ID_SIZE);
	memcpy(p + ERRSEQ_SNAP_OFF_INSTANCE, snap->instance, ERRSEQ_ID_SIZE);
	errseq_put32(p + ERRSEQ_SNAP_OFF_CRC,
		     errseq_crc32c(0, p, ERRSEQ_SNAP_OFF_CRC));
	memcpy(buf, p, sizeof(p));
	return (int)sizeof(p);
}

/**
 * errseq_snapshot_decode - parse and validate an encoded snapshot
 * @buf: the bytes
 * @len: their number; must be exactly ERRSEQ_SNAPSHOT_ENCODED_SIZE
 * @ret: the snapshot; written only on success
 *
 * Checks every field: length, magic, version, length field, crc32c, zero
 * flags and reserved words, and ERRSEQ_SEEN clear in the errseq word.
 * Safe on any input (it is a fuzz target).
 *
 * Context: any; pure function.
 * Return: 0, or -EINVAL for anything but a valid version 1 snapshot.
 */
ERRSEQ_EXPORT int errseq_snapshot_decode(const void *buf, size_t len,
					 struct errseq_snapshot *ret)
{
	const uint8_t *p = buf;
	struct errseq_snapshot snap;

	/* Exact length: short is torn, long is something else. */
	if (!buf || len != ERRSEQ_SNAPSHOT_ENCODED_SIZE)
		return -EINVAL;
	/* The header before the crc, so a foreign file fails fast. */
	if (errseq_get32(p + ERRSEQ_SNAP_OFF_MAGIC) != ERRSEQ_SNAP_MAGIC ||
	    errseq_get16(p + ERRSEQ_SNAP_OFF_VERSION) != ERRSEQ_SNAP_VERSION ||
	    errseq_get16(p + ERRSEQ_SNAP_OFF_LENGTH) !=
		    ERRSEQ_SNAPSHOT_ENCODED_SIZE)
		return -EINVAL;
	/* Torn writes and bit rot. */
	if (errseq_get32(p + ERRSEQ_SNAP_OFF_CRC) !=
	    errseq_crc32c(0, p, ERRSEQ_SNAP_OFF_CRC))
		return -EINVAL;
	/*
	 * Reserved space must be zero: a writer that sets it is newer than
	 * us, and guessing what it meant could turn "unknown" into "clean".
	 */
	if (errseq_get32(p + ERRSEQ_SNAP_OFF_FLAGS) != 0 ||
	    errseq_get32(p + ERRSEQ_SNAP_OFF_RSVD1) != 0 ||
	    errseq_get32(p + ERRSEQ_SNAP_OFF_RSVD2) != 0)
		return -EINVAL;

	/* Snapshots never carry ERRSEQ_SEEN; one that does was not ours. */
	snap.errseq = errseq_get32(p + ERRSEQ_SNAP_OFF_ERRSEQ);
	if (snap.errseq & ERRSEQ_SEEN)
		return -EINVAL;
	snap.errors = errseq_get32(p + ERRSEQ_SNAP_OFF_ERRORS);
	memcpy(snap.boot_id, p + ERRSEQ_SNAP_OFF_BOOT, ERRSEQ_ID_SIZE);
	memcpy(snap.instance, p + ERRSEQ_SNAP_OFF_INSTANCE, ERRSEQ_ID_SIZE);
	*ret = snap;
	return 0;
}

/**
 * errseq_snapshot_save - durably store a snapshot in a file
 * @dirfd: directory holding the file (or AT_FDCWD)
 * @name: file name within @dirfd; no '/'
 * @snap: the snapshot
 *
 * Encodes @snap and replaces @name atomically with errseq_file_replace():
 * a crash leaves either the previous file or the new one, never a mix.
 *
 * Context: may block in fsync(); hold no locks.
 * Return: 0, or -errno (-EINVAL for a bad @name or @snap); on failure the
 * previous file is intact and no temporary file is left behind.
 */
ERRSEQ_EXPORT int errseq_snapshot_save(int dirfd, const char *name,
				       const struct errseq_snapshot *snap)
{
	uint8_t buf[ERRSEQ_SNAPSHOT_ENCODED_SIZE];
	int r;

	r = errseq_snapshot_encode(snap, buf, sizeof(buf));
	if (r < 0)
		return r;
	return errseq_file_replace(dirfd, name, buf, sizeof(buf));
}

/**
 * errseq_snapshot_load - read a snapshot saved by errseq_snapshot_save()
 * @dirfd: directory holding the file (or AT_FDCWD)
 * @name: file name within @dirfd
 * @ret: the snapshot; written only on success
 *
 * Reads at most one byte more than a valid encoding (so an oversized
 * file is detected without reading it all) and decodes it. Only regular
 * files are read.
 *
 * Context: may block on I/O.
 * Return: 0; -EINVAL if the content is not a valid snapshot or @name is
 * not a regular file; any other -errno from opening or reading (-ENOENT
 * when there is no snapshot).
 */
ERRSEQ_EXPORT int errseq_snapshot_load(int dirfd, const char *name,
				       struct errseq_snapshot *ret)
{
	uint8_t buf[ERRSEQ_SNAPSHOT_ENCODED_SIZE + 1];
	struct stat st;
	size_t len = 0;
	ssize_t n;
	int fd, r;

	if (!name || !*name)
		return -EINVAL;

	/* O_NONBLOCK: a FIFO planted under @name must not hang us. */
	fd = errseq_sys_openat(dirfd, name,
			       O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK, 0);
	if (fd < 0)
		return fd;

	r = errseq_sys_fstat(fd, &st);
	if (r < 0)
		goto out_close;
	if (!S_ISREG(st.st_mode)) {
		r = -EINVAL;
		goto out_close;
	}

	/* One byte more than valid, so an oversized file is refused. */
	do {
		n = errseq_sys_read(fd, buf + len, sizeof(buf) - len);
		if (n < 0) {
			r = (int)n;
			goto out_close;
		}
		len += (size_t)n;
	} while (n > 0 && len < sizeof(buf));

	r = errseq_snapshot_decode(buf, len, ret);
out_close:
	/* Read-only descriptor: a failing close loses nothing. */
	(void)errseq_sys_close(fd);
	return r;
}

/**
 * errseq_snapshot_same_boot - was a snapshot taken in the running boot?
 * @snap: the snapshot
 *
 * A counter lives in memory, so a snapshot from an earlier boot says
 * nothing about the current one. A snapshot whose boot id is all zeros
 * (unreadable when it was taken) never matches.
 *
 * Context: any; may read /proc once per process.
 * Return: 1 if taken in this boot, 0 if in another one, -errno if the
 * current boot id cannot be read.
 */
ERRSEQ_EXPORT int errseq_snapshot_same_boot(const struct errseq_snapshot *snap)
{
	uint8_t cur[ERRSEQ_ID_SIZE];
	int r;

	r = errseq_boot_id(cur);
	if (r < 0)
		return r;
	return memcmp(cur, snap->boot_id, ERRSEQ_ID_SIZE) == 0;
}

// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * oracle - compare liberrseq with the kernel's own errseq_t reporting.
 *
 * Usage: oracle [-q] [-v] DIR PADFILE
 *
 * DIR is a directory on a filesystem whose writeback can be made to fail,
 * and PADFILE a path on the filesystem that backs it.  The test harness
 * (tests/lib/test_kernel_oracle.py) uses ext4 without a journal on a loop
 * device whose image is a sparse file larger than the small tmpfs holding
 * it; PADFILE lives on that tmpfs.
 *
 * The program first prepares a few files in DIR: each gets separate
 * fallocate()d regions of ORACLE_REGION bytes, so later writes go to
 * blocks that are already allocated and no metadata block has to be
 * written once the backing store is full.  After a sync() it fills the
 * backing store by writing PADFILE until ENOSPC.  From then on every
 * buffered write to a prepared region fails at writeback, inside the
 * kernel, on the data path only: the kernel records the error with
 * errseq_set() on the file's mapping and on the superblock (spec 2.1).
 *
 * The program then runs fixed sequences (calibration, T441, T487, T484,
 * syncfs) on real file and directory descriptors and, side by side, on a
 * model built from liberrseq: one errseq_t per file for the mapping's
 * wb_err, one for the superblock's s_wb_err (the errseq word of a struct
 * errseq_counter, set with errseq_counter_set()), and per descriptor two
 * cursors taken with errseq_sample() at open.  A writeback failure is
 * modelled as errseq_set() on the file's and the superblock's errseq,
 * fsync()/fdatasync() as errseq_check_and_advance() on the file cursor,
 * and syncfs() as errseq_check_and_advance() on the superblock cursor.
 * sync() is modelled as nothing: it only forces writeback.
 *
 * With -v a volatile kernel overlay is mounted too, its upper and work
 * directories in DIR, before the store fills up.  It is the kernel's
 * passive observer of the superblock errseq (spec 4.1), modelled by a counter
 * snapshot taken at mount (ERRSEQ_SNAPSHOT_REFUSE) and checked with
 * errseq_counter_check(): fsync on the overlay returns that errno,
 * syncfs -EIO.  A second volatile mount attempted while the superblock
 * holds an unseen error must fail with -EIO, like the REFUSE snapshot.
 *
 * What is not modelled: the legacy one-shot AS_EIO/AS_ENOSPC flags of the
 * block device's mapping, which syncfs() also reports (spec 2.3).  The
 * preparation keeps metadata writes on backed blocks so those flags stay
 * clear; a syncfs() result that differs from the model is reported as a
 * mismatch, never explained away.
 *
 * Every step prints one table row: kernel result, model result, verdict.
 * Exit status: 0 when every step matches, 1 on a mismatch, 2 when the
 * setup does not behave as required (for example writeback not failing).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "errseq/counter.h"
#include "errseq/errseq.h"

#define ORACLE_REGION (64L * 1024) /* bytes written per error event */
#define ORACLE_STRIDE (1024L * 1024) /* distance between regions */
#define ORACLE_REGIONS 3 /* regions per file; <= 4 extents in the inode */
#define ORACLE_MAX_FDS 32

/* A file in DIR and the model of its mapping's wb_err. */
struct oracle_file {
	const char *name;
	errseq_t wb_err; /* model of mapping->wb_err */
	int next_region; /* next prepared region to dirty */
};

/* An open descriptor with the model of its f_wb_err and f_sb_err. */
struct oracle_fd {
	char label[16];
	int fd; /* -1 once closed */
	struct oracle_file *file; /* NULL for a directory */
	errseq_t wb_cursor; /* model of file->f_wb_err */
	errseq_t sb_cursor; /* model of file->f_sb_err */
};

struct oracle {
	int dirfd;
	/*
	 * Model of sb->s_wb_err: descriptors subscribe to its errseq word;
	 * the volatile overlay is the passive observer of the whole counter.
	 */
	struct errseq_counter sb;
	int err; /* negative errno writeback fails with */
	unsigned int steps;
	unsigned int mismatches;
	bool quiet;
	const char *scenario;
	struct oracle_fd fds[ORACLE_MAX_FDS];
	unsigned int nr_fds;
	char *buf; /* ORACLE_REGION bytes of data */

	/* The volatile overlay (-v); fds are -1 when not in use. */
	bool with_overlay;
	char *top; /* absolute path of DIR */
	int ovl_file; /* a file opened through the overlay */
	int ovl_dir; /* the overlay's root */
	bool ovl_mounted;
	errseq_t ovl_since; /* ofs->errseq: errseq_sample() at mount */
	struct errseq_snapshot ovl_snap; /* the same moment, as a counter */
};

static struct oracle_file oracle_files[] = {
	{.name = "calibrate"}, {.name = "t441"},  {.name = "t487"},
	{.name = "t484"},      {.name = "other"},
};

#define ORACLE_NR_FILES (sizeof(oracle_files) / sizeof(oracle_files[0]))

static const char *oracle_errname(int r, char *buf, size_t len)
{
	const char *name;

	if (r == 0)
		return "0";
	name = r < 0 ? strerrorname_np(-r) : NULL;
	if (name)
		snprintf(buf, len, "-%s", name);
	else
		snprintf(buf, len, "%d", r);
	return buf;
}

/* Prints a step that is not compared (an open, a write, a sync). */
static void oracle_note(struct oracle *o, const char *what)
{
	if (o->quiet)
		return;
	printf("|      | %-9s | %-28s |          |          |      |\n",
	       o->scenario, what);
}

/* Prints one row and counts a mismatch between @kernel and @model. */
static void oracle_row(struct oracle *o, const char *op, const char *label,
		       int kernel, int model)
{
	char kbuf[32], mbuf[32], what[48];
	bool ok = kernel == model;

	o->steps++;
	if (!ok)
		o->mismatches++;
	if (o->quiet && ok)
		return;
	snprintf(what, sizeof(what), "%s(%s)", op, label);
	printf("| %4u | %-9s | %-28s | %-8s | %-8s | %-4s |\n", o->steps,
	       o->scenario, what, oracle_errname(kernel, kbuf, sizeof(kbuf)),
	       oracle_errname(model, mbuf, sizeof(mbuf)), ok ? "ok" : "DIFF");
}

static int oracle_die(const char *what, int r)
{
	fprintf(stderr, "oracle: %s: %s\n", what, strerror(-r));
	return 2;
}

/* Opens @file (or DIR itself when NULL) and samples both model cursors. */
static struct oracle_fd *oracle_open(struct oracle *o, const char *label,
				     struct oracle_file *file)
{
	struct oracle_fd *ofd;
	int fd;

	if (o->nr_fds == ORACLE_MAX_FDS) {
		fprintf(stderr, "oracle: too many descriptors\n");
		exit(2);
	}
	if (file)
		fd = openat(o->dirfd, file->name, O_RDWR | O_CLOEXEC);
	else
		fd = openat(o->dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		fprintf(stderr, "oracle: open %s: %s\n",
			file ? file->name : ".", strerror(errno));
		exit(2);
	}
	ofd = &o->fds[o->nr_fds++];
	snprintf(ofd->label, sizeof(ofd->label), "%s", label);
	ofd->fd = fd;
	ofd->file = file;
	/* do_dentry_open(): f_wb_err and f_sb_err are sampled at open. */
	ofd->wb_cursor = file ? errseq_sample(&file->wb_err) : 0;
	ofd->sb_cursor = errseq_sample(&o->sb.errseq);
	oracle_note(o, label);
	return ofd;
}

static void oracle_close(struct oracle *o, struct oracle_fd *ofd)
{
	if (ofd->fd >= 0)
		(void)close(ofd->fd); /* nothing is dirty through it */
	ofd->fd = -1;
}

static void oracle_fsync(struct oracle *o, struct oracle_fd *ofd, bool datasync)
{
	int kernel, model;

	kernel = datasync ? fdatasync(ofd->fd) : fsync(ofd->fd);
	kernel = kernel < 0 ? -errno : 0;
	model = errseq_check_and_advance(&ofd->file->wb_err, &ofd->wb_cursor);
	oracle_row(o, datasync ? "fdatasync" : "fsync", ofd->label, kernel,
		   model);
}

static void oracle_syncfs(struct oracle *o, struct oracle_fd *ofd)
{
	int kernel, model;

	kernel = syncfs(ofd->fd) < 0 ? -errno : 0;
	model = errseq_check_and_advance(&o->sb.errseq, &ofd->sb_cursor);
	oracle_row(o, "syncfs", ofd->label, kernel, model);
}

/* Dirties the next prepared region of @ofd's file (buffered, succeeds). */
static void oracle_dirty(struct oracle *o, struct oracle_fd *ofd)
{
	struct oracle_file *file = ofd->file;
	off_t off;
	ssize_t n;

	if (file->next_region == ORACLE_REGIONS) {
		fprintf(stderr, "oracle: %s: no prepared region left\n",
			file->name);
		exit(2);
	}
	off = (off_t)file->next_region++ * ORACLE_STRIDE;
	n = pwrite(ofd->fd, o->buf, ORACLE_REGION, off);
	if (n != ORACLE_REGION) {
		fprintf(stderr, "oracle: write %s: %s\n", file->name,
			n < 0 ? strerror(errno) : "short write");
		exit(2);
	}
	oracle_note(o, "write (buffered, ok)");
}

/*
 * Models the failed writeback of @file: mapping_set_error() sets both the
 * mapping's and the superblock's errseq.
 */
static void oracle_model_error(struct oracle *o, struct oracle_file *file)
{
	(void)errseq_set(&file->wb_err, o->err);
	(void)errseq_counter_set(&o->sb, o->err);
}

/* sync(2): writeback of everything, no report, no cursor moves. */
static void oracle_sync(struct oracle *o)
{
	sync();
	oracle_note(o, "sync()");
}

/* Creates the files with their regions allocated, while space remains. */
static int oracle_prepare(struct oracle *o)
{
	unsigned int i;
	int fd, r, j;

	for (i = 0; i < ORACLE_NR_FILES; i++) {
		fd = openat(o->dirfd, oracle_files[i].name,
			    O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (fd < 0)
			return oracle_die(oracle_files[i].name, -errno);
		for (j = 0; j < ORACLE_REGIONS; j++) {
			r = fallocate(fd, 0, (off_t)j * ORACLE_STRIDE,
				      ORACLE_REGION);
			if (r < 0) {
				r = -errno;
				(void)close(fd);
				return oracle_die("fallocate", r);
			}
		}
		r = fsync(fd) < 0 ? -errno : 0;
		(void)close(fd); /* fsync above reported any error */
		if (r < 0)
			return oracle_die("fsync during preparation", r);
	}
	sync();
	r = syncfs(o->dirfd) < 0 ? -errno : 0;
	if (r < 0)
		return oracle_die("syncfs during preparation", r);
	return 0;
}

/* Directories for the volatile overlays, created while space remains. */
static const char *const oracle_ovl_dirs[] = {
	"lower", "upper", "work", "ovl", "upper2", "work2", "ovl2",
};

/* mount -t overlay -o lowerdir=lower,upperdir=@upper,workdir=@work,volatile */
static int oracle_ovl_mount(struct oracle *o, const char *upper,
			    const char *work, const char *target)
{
	char opts[4096], path[4096];
	int n;

	n = snprintf(opts, sizeof(opts),
		     "lowerdir=%s/lower,upperdir=%s/%s,workdir=%s/%s,volatile",
		     o->top, o->top, upper, o->top, work);
	if (n < 0 || (size_t)n >= sizeof(opts))
		return -ENAMETOOLONG;
	n = snprintf(path, sizeof(path), "%s/%s", o->top, target);
	if (n < 0 || (size_t)n >= sizeof(path))
		return -ENAMETOOLONG;
	return mount("overlay", path, "overlay", 0, opts) < 0 ? -errno : 0;
}

static void oracle_ovl_umount(struct oracle *o, const char *target)
{
	char path[4096];

	snprintf(path, sizeof(path), "%s/%s", o->top, target);
	/* A busy overlay is detached; the harness unmounts what remains. */
	if (umount2(path, 0) < 0)
		(void)umount2(path, MNT_DETACH);
}

/*
 * Mounts the volatile overlay before the backing store fills up, so that
 * its work directories and marker are written while that still works.
 * The kernel samples the upper superblock's errseq at mount (spec 4.1);
 * the model samples its errseq word and takes a REFUSE counter snapshot.
 */
static int oracle_ovl_prepare(struct oracle *o)
{
	unsigned int i;
	int fd, r;

	if (strpbrk(o->top, ",:\\"))
		return oracle_die("DIR contains ',', ':' or '\\'", -EINVAL);
	for (i = 0; i < sizeof(oracle_ovl_dirs) / sizeof(oracle_ovl_dirs[0]);
	     i++)
		if (mkdirat(o->dirfd, oracle_ovl_dirs[i], 0755) < 0)
			return oracle_die(oracle_ovl_dirs[i], -errno);
	fd = openat(o->dirfd, "upper/f", O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0)
		return oracle_die("upper/f", -errno);
	(void)close(fd); /* empty file, nothing to flush */

	r = oracle_ovl_mount(o, "upper", "work", "ovl");
	if (r < 0)
		return oracle_die("mount overlay -o volatile", r);
	o->ovl_mounted = true;
	o->ovl_since = errseq_sample(&o->sb.errseq);
	r = errseq_counter_snapshot(&o->sb, &o->ovl_snap,
				    ERRSEQ_SNAPSHOT_REFUSE);
	if (r < 0)
		return oracle_die("model snapshot at mount", r);

	o->ovl_file = openat(o->dirfd, "ovl/f", O_RDWR | O_CLOEXEC);
	if (o->ovl_file < 0)
		return oracle_die("ovl/f", -errno);
	o->ovl_dir =
		openat(o->dirfd, "ovl", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (o->ovl_dir < 0)
		return oracle_die("ovl", -errno);
	sync();
	r = syncfs(o->dirfd) < 0 ? -errno : 0;
	if (r < 0)
		return oracle_die("syncfs after the overlay mount", r);
	return 0;
}

static void oracle_ovl_done(struct oracle *o)
{
	if (o->ovl_file >= 0)
		(void)close(o->ovl_file); /* nothing written through it */
	if (o->ovl_dir >= 0)
		(void)close(o->ovl_dir);
	o->ovl_file = o->ovl_dir = -1;
	if (o->ovl_mounted)
		oracle_ovl_umount(o, "ovl");
	o->ovl_mounted = false;
}

/*
 * The volatile overlay as a passive observer (spec 4.1, 4.4): fsync on
 * any overlay file returns the upper's latest errno and syncfs returns
 * -EIO, on every call, for old and new descriptors alike, once an error
 * was recorded on the upper after the mount.  The model is
 * errseq_counter_check() on the snapshot taken at mount; the kernel's
 * own rule, errseq_check() against the mount-time sample, must agree.
 */
static void oracle_volatile(struct oracle *o)
{
	int kernel, model, plain, fd;

	if (!o->with_overlay)
		return;
	o->scenario = "volatile";
	model = errseq_counter_check(&o->sb, &o->ovl_snap);
	plain = errseq_check(&o->sb.errseq, o->ovl_since);
	if (plain != model) {
		printf("| model: errseq_check %d, errseq_counter_check %d |\n",
		       plain, model);
		o->mismatches++;
	}

	kernel = fsync(o->ovl_file) < 0 ? -errno : 0;
	oracle_row(o, "fsync", "ovl/f", kernel, model);
	fd = openat(o->dirfd, "ovl/f", O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		fprintf(stderr, "oracle: open ovl/f: %s\n", strerror(errno));
		exit(2);
	}
	kernel = fdatasync(fd) < 0 ? -errno : 0;
	(void)close(fd); /* read-only */
	oracle_row(o, "fdatasync", "ovl/f new fd", kernel, model);
	kernel = fsync(o->ovl_dir) < 0 ? -errno : 0;
	oracle_row(o, "fsync", "ovl root", kernel, model);
	/* ovl_sync_fs() maps any upper error to -EIO. */
	kernel = syncfs(o->ovl_dir) < 0 ? -errno : 0;
	oracle_row(o, "syncfs", "ovl root", kernel, model < 0 ? -EIO : 0);
	kernel = syncfs(o->ovl_dir) < 0 ? -errno : 0;
	oracle_row(o, "syncfs", "ovl root", kernel, model < 0 ? -EIO : 0);
}

/*
 * A volatile mount is refused while the upper holds an error nobody has
 * seen; the model is a counter snapshot with ERRSEQ_SNAPSHOT_REFUSE.
 */
static void oracle_volatile_refused(struct oracle *o)
{
	struct errseq_snapshot snap;
	int kernel, model, plain;

	if (!o->with_overlay)
		return;
	o->scenario = "volatile";
	model = errseq_counter_snapshot(&o->sb, &snap, ERRSEQ_SNAPSHOT_REFUSE);
	plain = errseq_check(&o->sb.errseq, errseq_sample(&o->sb.errseq)) ? -EIO
									  : 0;
	if (plain != model) {
		printf("| model: errseq_check %d, snapshot %d |\n", plain,
		       model);
		o->mismatches++;
	}
	kernel = oracle_ovl_mount(o, "upper2", "work2", "ovl2");
	if (kernel == 0)
		oracle_ovl_umount(o, "ovl2");
	oracle_row(o, "mount -o volatile", "ovl2", kernel, model);
}

/* Writes @path until its filesystem is full. */
static int oracle_fill(const char *path)
{
	static char chunk[1024 * 1024];
	size_t size = sizeof(chunk);
	ssize_t n;
	int fd, r = 0;

	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return oracle_die(path, -errno);
	memset(chunk, 0xa5, sizeof(chunk));
	while (size >= 4096) {
		n = write(fd, chunk, size);
		if (n < 0 && errno == ENOSPC) {
			size /= 2;
			continue;
		}
		if (n < 0) {
			r = oracle_die(path, -errno);
			break;
		}
	}
	(void)close(fd); /* tmpfs: nothing to flush */
	return r;
}

/*
 * Calibration: learns the errno writeback fails with and checks that the
 * setup fails it at all.  The superblock error it leaves unseen is part
 * of the model and of the next scenario.
 */
static int oracle_calibrate(struct oracle *o)
{
	struct oracle_fd *c;
	int r;

	o->scenario = "calibrate";
	c = oracle_open(o, "cal0", &oracle_files[0]);
	oracle_dirty(o, c);
	oracle_sync(o);
	r = fsync(c->fd) < 0 ? -errno : 0;
	if (r == 0) {
		fprintf(stderr,
			"oracle: writeback did not fail; is the backing "
			"store full?\n");
		return 2;
	}
	o->err = r;
	oracle_model_error(o, c->file);
	/* The step above consumed the mapping error; record it as a row. */
	oracle_row(o, "fsync", c->label, r,
		   errseq_check_and_advance(&c->file->wb_err, &c->wb_cursor));
	oracle_fsync(o, c, false);
	oracle_close(o, c);
	return 0;
}

/*
 * T441 (generic/441): every descriptor open at the time of an error gets
 * it once from fsync, then 0; a descriptor opened after the error gets it
 * only while nobody has seen it; a later error is reported again.  Also
 * the superblock side: syncfs reports once per descriptor.
 */
static void oracle_t441(struct oracle *o)
{
	struct oracle_file *f = &oracle_files[1];
	struct oracle_fd *a[4], *late_unseen, *late_seen, *x, *d1, *d2, *d3,
		*d4;
	unsigned int i;

	o->scenario = "t441";
	for (i = 0; i < 4; i++) {
		char label[8];

		snprintf(label, sizeof(label), "a%u", i + 1);
		a[i] = oracle_open(o, label, f);
	}
	x = oracle_open(o, "x1(other)", &oracle_files[4]);
	d1 = oracle_open(o, "d1(dir)", NULL);
	d2 = oracle_open(o, "d2(dir)", NULL);

	/* The calibration error is still unseen on the superblock. */
	oracle_fsync(o, a[0], false);
	oracle_syncfs(o, d1);
	oracle_syncfs(o, d1);

	oracle_dirty(o, a[0]);
	oracle_sync(o);
	oracle_model_error(o, f);
	oracle_sync(o);

	late_unseen = oracle_open(o, "a5(after)", f);
	d3 = oracle_open(o, "d3(after)", NULL);
	for (i = 0; i < 4; i++)
		oracle_fsync(o, a[i], i == 2);
	oracle_fsync(o, late_unseen, false);
	oracle_fsync(o, a[0], false);
	oracle_fsync(o, late_unseen, false);
	late_seen = oracle_open(o, "a6(seen)", f);
	oracle_fsync(o, late_seen, false);
	oracle_fsync(o, x, false);

	oracle_syncfs(o, d1);
	oracle_syncfs(o, d1);
	oracle_syncfs(o, d2);
	oracle_syncfs(o, d3);
	d4 = oracle_open(o, "d4(seen)", NULL);
	oracle_syncfs(o, d4);
	oracle_syncfs(o, x);
	oracle_syncfs(o, a[1]);

	/* A second error after everyone saw the first one. */
	oracle_dirty(o, a[1]);
	oracle_sync(o);
	oracle_model_error(o, f);
	for (i = 0; i < 4; i++)
		oracle_fsync(o, a[i], false);
	oracle_fsync(o, late_unseen, false);
	oracle_fsync(o, late_seen, false);
	oracle_fsync(o, late_seen, false);
	oracle_syncfs(o, d4);
	oracle_syncfs(o, d1);
	oracle_syncfs(o, d4);

	for (i = 0; i < 4; i++)
		oracle_close(o, a[i]);
	oracle_close(o, late_unseen);
	oracle_close(o, late_seen);
	oracle_close(o, x);
	oracle_close(o, d1);
	oracle_close(o, d2);
	oracle_close(o, d3);
	oracle_close(o, d4);
}

/*
 * T487 (generic/487): an error recorded while nobody checks is reported
 * once to a descriptor opened later, and not to the one after it.
 */
static void oracle_t487(struct oracle *o)
{
	struct oracle_file *f = &oracle_files[2];
	struct oracle_fd *held, *b1, *b2;

	o->scenario = "t487";
	held = oracle_open(o, "b0(held)", f);
	oracle_dirty(o, held);
	oracle_sync(o);
	oracle_model_error(o, f);
	b1 = oracle_open(o, "b1(new)", f);
	oracle_fsync(o, b1, false);
	oracle_fsync(o, b1, false);
	b2 = oracle_open(o, "b2(new)", f);
	oracle_fsync(o, b2, false);
	oracle_fsync(o, held, false);
	oracle_fsync(o, held, false);
	oracle_close(o, b1);
	oracle_close(o, b2);
	oracle_close(o, held);
}

/*
 * T484 (generic/484): fdatasync consumes the mapping error only; a new
 * descriptor's syncfs reports the superblock error exactly once, and a
 * descriptor opened after that sees nothing.
 */
static void oracle_t484(struct oracle *o)
{
	struct oracle_file *f = &oracle_files[3];
	struct oracle_fd *c0, *c1, *c2;

	o->scenario = "t484";
	c0 = oracle_open(o, "c0", f);
	oracle_dirty(o, c0);
	/* fdatasync starts the writeback itself; the error is set inside. */
	oracle_model_error(o, f);
	oracle_fsync(o, c0, true);
	c1 = oracle_open(o, "c1(new)", f);
	oracle_syncfs(o, c1);
	oracle_syncfs(o, c1);
	c2 = oracle_open(o, "c2(new)", f);
	oracle_syncfs(o, c2);
	oracle_fsync(o, c2, false);
	oracle_syncfs(o, c0);
	oracle_syncfs(o, c0);
	oracle_close(o, c0);
	oracle_close(o, c1);
	oracle_close(o, c2);
}

/*
 * syncfs runs the writeback itself: the error it triggers is reported by
 * that same call, and to the fsync of a descriptor open on the file.
 */
static void oracle_syncfs_writeback(struct oracle *o)
{
	struct oracle_file *f = &oracle_files[3];
	struct oracle_fd *c3, *d5, *d6;

	o->scenario = "syncfs";
	c3 = oracle_open(o, "c3", f);
	d5 = oracle_open(o, "d5(dir)", NULL);
	d6 = oracle_open(o, "d6(dir)", NULL);
	oracle_syncfs(o, d5);
	oracle_dirty(o, c3);
	oracle_model_error(o, f);
	oracle_syncfs(o, d5);
	oracle_syncfs(o, d5);
	oracle_syncfs(o, d6);
	oracle_fsync(o, c3, false);
	oracle_fsync(o, c3, false);
	oracle_close(o, c3);
	oracle_close(o, d5);
	oracle_close(o, d6);
}

static void oracle_usage(FILE *out)
{
	fprintf(out,
		"Usage: oracle [-q] [-v] DIR PADFILE\n"
		"Runs writeback-error sequences on DIR and compares fsync()\n"
		"and syncfs() results with liberrseq.  PADFILE is a new file\n"
		"on the filesystem backing DIR; it is filled until ENOSPC.\n"
		"  -q  print only mismatching steps and the summary\n"
		"  -v  also mount a volatile overlay with its upper in DIR "
		"and\n"
		"      compare it with an errseq_counter snapshot\n"
		"Exit status: 0 all steps match, 1 mismatch, 2 setup error.\n");
}

int main(int argc, char **argv)
{
	struct oracle o = {.dirfd = -1,
			   .scenario = "setup",
			   .ovl_file = -1,
			   .ovl_dir = -1};
	char ebuf[32];
	int opt, r;

	while ((opt = getopt(argc, argv, "qvh")) != -1) {
		switch (opt) {
		case 'v':
			o.with_overlay = true;
			break;
		case 'q':
			o.quiet = true;
			break;
		case 'h':
			oracle_usage(stdout);
			return 0;
		default:
			oracle_usage(stderr);
			return 2;
		}
	}
	if (argc - optind != 2) {
		oracle_usage(stderr);
		return 2;
	}
	o.buf = malloc(ORACLE_REGION);
	if (!o.buf)
		return oracle_die("malloc", -ENOMEM);
	memset(o.buf, 0x5a, ORACLE_REGION);
	errseq_counter_init(&o.sb);
	o.dirfd = open(argv[optind], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (o.dirfd < 0) {
		r = oracle_die(argv[optind], -errno);
		goto out_free;
	}
	r = oracle_prepare(&o);
	if (r)
		goto out_close;
	if (o.with_overlay) {
		o.top = realpath(argv[optind], NULL);
		if (!o.top) {
			r = oracle_die(argv[optind], -errno);
			goto out_close;
		}
		r = oracle_ovl_prepare(&o);
		if (r)
			goto out_close;
	}
	r = oracle_fill(argv[optind + 1]);
	if (r)
		goto out_close;

	printf("| step | scenario  | operation                    | kernel   "
	       "| model    |      |\n");
	printf("|-----:|-----------|------------------------------|----------"
	       "|----------|------|\n");
	oracle_volatile(&o);
	r = oracle_calibrate(&o);
	if (r)
		goto out_close;
	oracle_volatile_refused(&o);
	oracle_volatile(&o);
	oracle_t441(&o);
	oracle_volatile(&o);
	oracle_t487(&o);
	oracle_t484(&o);
	oracle_syncfs_writeback(&o);
	oracle_volatile(&o);

	printf("\nwriteback error: %s; %u steps compared, %u mismatches\n",
	       oracle_errname(o.err, ebuf, sizeof(ebuf)), o.steps,
	       o.mismatches);
	r = o.mismatches ? 1 : 0;
out_close:
	oracle_ovl_done(&o);
	free(o.top);
	(void)close(o.dirfd);
out_free:
	free(o.buf);
	return r;
}

// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The request loop: one reader thread and a pool of workers.
 *
 * libfuse's multi-threaded loop lets every idle thread wait in read()
 * on /dev/fuse; the kernel wakes them in turn, so a serial stream of
 * requests (tar, find, a build) hops to another thread, often another
 * CPU, on every request. On small and virtual machines that switch
 * costs more than most requests: the daemon spent a third of its time
 * in the scheduler during an untar.
 *
 * Here one thread reads. A request that is quick by construction
 * (lookup, getattr, create, release, an open or setattr that needs no
 * copy-up, a small read or write, fsync of a volatile mount, ...) is
 * answered by the reader itself, with no hand-over. A request that may
 * take long or block (fsync, a copy-up, a rename that needs one or
 * waits for one, the first listing of a merged directory, a blocking
 * lock, a large read, ioctl, ...) goes to
 * a worker, and the reader goes straight back to reading, so slow
 * requests run in parallel with each other and with the quick ones.
 * Listings of directories read from one real directory stay on the
 * reader, bounded: it answers a READDIRPLUS with at most 32 KiB of
 * entries (204 at most, each one a lookup), and the kernel asks again
 * for the rest. A request whose data libfuse left in a splice pipe
 * would be answered by the reader (the pipe belongs to that thread);
 * errovl does not ask for splice reads, so none comes that way.
 *
 * The decision reads only the request header and, for a few opcodes,
 * the fixed part of its argument (a rename's names too, to find what
 * it moves); the nodes it names are live (the kernel holds a lookup on
 * them while the request runs).
 *
 * Waiting: after a request the reader polls /dev/fuse (non-blocking)
 * for a while before it sleeps: up to -o spin microseconds (default
 * 50, 0 = never), less when polling keeps missing, and not while a
 * worker answers a request (the client waits for that answer). A process that sends requests
 * back to back (tar: lookup, create, write, chown, chmod, utimes per
 * file) finds the reader awake and on its CPU; waking a sleeping
 * thread on an idle CPU costs tens of microseconds on virtual
 * machines, more than most requests take to answer.
 *
 * Set-id bits: libfuse 3.14 cannot negotiate FUSE_HANDLE_KILLPRIV_V2,
 * with which the kernel stops asking for security.capability before
 * every write (a quarter of an untar's requests) and instead flags the
 * writes, truncates and O_TRUNC opens after which the daemon must clear
 * S_ISUID/S_ISGID. The loop writes through its own I/O functions
 * (fuse_session_custom_io()): it adds the flag to the INIT reply when
 * the kernel offered it, and hands each request's kill flag to the
 * handler that runs it (ovl_req_kill_suidgid()). The same hooks
 * negotiate FUSE passthrough and complete the replies to opens that
 * pass through (passthrough.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/uio.h>
#include <unistd.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ovl.h"

/* FUSE protocol opcodes (include/uapi/linux/fuse.h) this file needs. */
enum {
	OVL_OP_INIT = 26,
	OVL_OP_CREATE = 35,
	OVL_OP_TMPFILE = 51,
	OVL_OP_SETATTR = 4,
	OVL_OP_RENAME = 12,
	OVL_OP_LINK = 13,
	OVL_OP_OPEN = 14,
	OVL_OP_READ = 15,
	OVL_OP_WRITE = 16,
	OVL_OP_FSYNC = 20,
	OVL_OP_SETXATTR = 21,
	OVL_OP_REMOVEXATTR = 24,
	OVL_OP_READDIR = 28,
	OVL_OP_FSYNCDIR = 30,
	OVL_OP_SETLKW = 33,
	OVL_OP_RMDIR = 11,
	OVL_OP_IOCTL = 39,
	OVL_OP_FALLOCATE = 43,
	OVL_OP_READDIRPLUS = 44,
	OVL_OP_RENAME2 = 45,
	OVL_OP_COPY_FILE_RANGE = 47,
};

/* Offsets in a request: struct fuse_in_header is 40 bytes. */
#define OVL_IN_OPCODE 4
#define OVL_IN_UNIQUE 8
#define OVL_IN_NODEID 16
#define OVL_IN_ARG 40
/* fuse_open_in.flags; fuse_read_in.fh, .offset, .size; fuse_write_in.size */
#define OVL_OPEN_FLAGS OVL_IN_ARG
#define OVL_READ_FH OVL_IN_ARG
#define OVL_READ_OFFSET (OVL_IN_ARG + 8)
#define OVL_RW_SIZE (OVL_IN_ARG + 16)
/* fuse_open_in.open_flags, fuse_write_in.write_flags, fuse_setattr_in.valid */
#define OVL_OPEN_OPEN_FLAGS (OVL_IN_ARG + 4)
#define OVL_WRITE_FLAGS (OVL_IN_ARG + 20)
#define OVL_SETATTR_VALID OVL_IN_ARG
/* fuse_rename_in.newdir, then the names; fuse_rename2_in adds flags */
#define OVL_RENAME_NEWDIR OVL_IN_ARG
#define OVL_RENAME_NAMES (OVL_IN_ARG + 8)
#define OVL_RENAME2_FLAGS (OVL_IN_ARG + 8)
#define OVL_RENAME2_NAMES (OVL_IN_ARG + 16)
/* fuse_init_in.minor, .flags, .flags2; fuse_init_out.flags, ... */
#define OVL_INIT_MINOR (OVL_IN_ARG + 4)
#define OVL_INIT_FLAGS (OVL_IN_ARG + 12)
#define OVL_INIT_FLAGS2 (OVL_IN_ARG + 16)
#define OVL_INIT_OUT_FLAGS 12
#define OVL_INIT_OUT_FLAGS2 32
#define OVL_INIT_OUT_MAX_WRITE 20
#define OVL_INIT_OUT_MAX_PAGES 28 /* u16 */
#define OVL_INIT_OUT_DEPTH 36 /* max_stack_depth */
/* Protocol flags libfuse 3.14 does not name. */
#define OVL_HANDLE_KILLPRIV_V2 (1u << 28)
#define OVL_INIT_EXT (1u << 30)
#define OVL_PASSTHROUGH2 ((uint32_t)(OVL_FUSE_PASSTHROUGH >> 32))
#define OVL_WRITE_KILL_SUIDGID (1u << 2)
#define OVL_FATTR_KILL_SUIDGID (1u << 15)
#define OVL_OPEN_KILL_SUIDGID (1u << 0)

/*
 * Reads and writes up to these sizes are answered by the reader. A
 * read of a cold lower file may wait for the disk whatever its size
 * (a seek dominates). Sequential reads come in the size of the mount's
 * readahead window (super.c): 128 KiB ones stay on the reader; larger
 * ones measured faster on workers, which the kernel keeps busy with
 * the next window meanwhile (FUSE_ASYNC_READ). Writes come in up to
 * 1 MiB from the writeback cache and go to workers above 64 KiB.
 */
#define OVL_LOOP_INLINE_READ (128 * 1024)
#define OVL_LOOP_INLINE_WRITE (64 * 1024)
#define OVL_LOOP_WORKERS 4

struct ovl_work {
	struct fuse_buf buf; /* owns buf.mem, unless from a ring entry */
	size_t len; /* bytes of the request in buf */
	struct ovl_uring_ent *ent; /* the ring entry it came in, or NULL */
	struct ovl_work *next;
};

struct ovl_loop {
	struct ovl_fs *ofs;
	struct fuse_session *se;
	pthread_mutex_t lock;
	pthread_cond_t cond; /* work queued, or stop */
	struct ovl_work *head, *tail; /* protected by lock */
	bool stop; /* protected by lock */
	unsigned int pending; /* queued or running work; atomic */
	uint64_t spin_ns; /* current polling window (reader only) */
	unsigned int nr_workers;
};

static uint32_t ovl_loop_u32(const struct fuse_buf *b, size_t off)
{
	uint32_t v;

	memcpy(&v, (const char *)b->mem + off, sizeof(v));
	return v;
}

static uint64_t ovl_loop_u64(const struct fuse_buf *b, size_t off)
{
	uint64_t v;

	memcpy(&v, (const char *)b->mem + off, sizeof(v));
	return v;
}

/*
 * The handle a read-like request names (fuse_read_in.fh): ours, from
 * the open or opendir reply, and open while the request runs.
 */
static const struct ovl_handle *ovl_loop_handle(const struct fuse_buf *b)
{
	return (const struct ovl_handle *)(uintptr_t)ovl_loop_u64(b,
								  OVL_READ_FH);
}

/* The opcode of the request in @b, or 0 when its header is not in memory. */
static uint32_t ovl_loop_opcode(const struct fuse_buf *b, size_t len)
{
	if (b->flags & FUSE_BUF_IS_FD || len < OVL_IN_ARG)
		return 0;
	return ovl_loop_u32(b, OVL_IN_OPCODE);
}

/* Whether the request in @b (@len bytes) has @bit in its u32 at @off. */
static bool ovl_loop_bit(const struct fuse_buf *b, size_t len, size_t off,
			 uint32_t bit)
{
	return len >= off + 4 && (ovl_loop_u32(b, off) & bit);
}

/* The node a request names by @id (live while the request runs). */
static struct ovl_node *ovl_loop_node(struct ovl_fs *ofs, uint64_t id)
{
	return id == FUSE_ROOT_ID ? ofs->root
				  : (struct ovl_node *)(uintptr_t)id;
}

static bool ovl_loop_node_upper(struct ovl_fs *ofs, const struct fuse_buf *b)
{
	return ovl_node_has_upperdata(
		ovl_loop_node(ofs, ovl_loop_u64(b, OVL_IN_NODEID)));
}

/*
 * Whether the rename in @b (RENAME2 if @two) can be answered by the
 * reader: no work is queued or running on a worker (a copy-up holds
 * the rename lock for reading while it copies, and a rename must take
 * it for writing), and ovl_rename_quick() finds nothing else to wait
 * for. Renames of freshly written files (write, fsync, rename into
 * place) are then answered without a hand-over.
 */
static bool ovl_loop_rename_quick(struct ovl_loop *l, const struct fuse_buf *b,
				  size_t len, bool two)
{
	size_t at = two ? OVL_RENAME2_NAMES : OVL_RENAME_NAMES;
	const char *p = b->mem, *name = p + at, *newname, *end;
	uint32_t flags;

	if (__atomic_load_n(&l->pending, __ATOMIC_ACQUIRE) || len <= at)
		return false;
	end = memchr(name, '\0', len - at);
	if (!end)
		return false;
	newname = end + 1;
	if (!memchr(newname, '\0', (size_t)(p + len - newname)))
		return false;
	flags = two ? ovl_loop_u32(b, OVL_RENAME2_FLAGS) : 0;
	return ovl_rename_quick(
		l->ofs, ovl_loop_node(l->ofs, ovl_loop_u64(b, OVL_IN_NODEID)),
		name, ovl_loop_node(l->ofs, ovl_loop_u64(b, OVL_RENAME_NEWDIR)),
		newname, flags);
}

/*
 * Whether the request in @b may take long (disk I/O of unknown size,
 * copy-up, a lock wait) and belongs on a worker.
 */
static bool ovl_loop_is_slow(struct ovl_loop *l, const struct fuse_buf *b,
			     size_t len)
{
	struct ovl_fs *ofs = l->ofs;
	uint32_t flags;

	switch (ovl_loop_opcode(b, len)) {
	case OVL_OP_FSYNC:
	case OVL_OP_FSYNCDIR:
		/* A volatile mount answers from its error state alone. */
		return !ofs->config.ovl_volatile;
	case OVL_OP_RENAME:
		return !ovl_loop_rename_quick(l, b, len, false);
	case OVL_OP_RENAME2:
		return !ovl_loop_rename_quick(l, b, len, true);
	case OVL_OP_SETLKW:
	case OVL_OP_IOCTL:
	case OVL_OP_LINK:
	case OVL_OP_RMDIR:
	case OVL_OP_FALLOCATE:
	case OVL_OP_COPY_FILE_RANGE:
		return true;
	case OVL_OP_READDIR:
	case OVL_OP_READDIRPLUS:
		return len < OVL_RW_SIZE + 4 ||
		       !ovl_dir_read_quick(ovl_loop_handle(b),
					   ovl_loop_u64(b, OVL_READ_OFFSET));
	case OVL_OP_READ:
		return len < OVL_RW_SIZE + 4 ||
		       ovl_loop_u32(b, OVL_RW_SIZE) > OVL_LOOP_INLINE_READ;
	case OVL_OP_WRITE:
		return len < OVL_RW_SIZE + 4 ||
		       ovl_loop_u32(b, OVL_RW_SIZE) > OVL_LOOP_INLINE_WRITE;
	case OVL_OP_OPEN:
		if (len < OVL_OPEN_FLAGS + 4)
			return true;
		flags = ovl_loop_u32(b, OVL_OPEN_FLAGS);
		if ((flags & O_ACCMODE) == O_RDONLY && !(flags & O_TRUNC))
			return false;
		return !ovl_loop_node_upper(ofs, b);
	case OVL_OP_SETATTR:
	case OVL_OP_SETXATTR:
	case OVL_OP_REMOVEXATTR:
		/* Quick unless a copy-up comes first. */
		return !ovl_loop_node_upper(ofs, b);
	default:
		return false;
	}
}

/*
 * libfuse 3.14 does not know FUSE_TMPFILE (protocol 7.37) and would
 * answer ENOSYS, which turns O_TMPFILE off for the mount. Its request
 * is a CREATE in all but the opcode (fuse_create_in, then the name,
 * "/"; the reply is an entry and an open), so it is handed to libfuse
 * as one; ovl_op_create() recognises the name.
 */
static void ovl_loop_tmpfile(struct fuse_buf *b, size_t len)
{
	uint32_t op = OVL_OP_CREATE;

	if (ovl_loop_opcode(b, len) != OVL_OP_TMPFILE)
		return;
	memcpy((char *)b->mem + OVL_IN_OPCODE, &op, sizeof(op));
}

/* The kill flag of the request this thread runs (ovl_loop_process()). */
static __thread bool ovl_loop_kill;
/* This thread is a worker (it may block; nobody waits behind it). */
static __thread bool ovl_loop_worker_thread;

/**
 * ovl_req_may_block - may the request being answered take long?
 *
 * False on the thread that reads requests (or serves a ring queue):
 * every request behind it waits, so handlers that can split their work
 * (a listing: ovl_dir_read()) answer with a bounded part of it there.
 *
 * Return: true in a worker.
 */
bool ovl_req_may_block(void)
{
	return ovl_loop_worker_thread;
}

/**
 * ovl_req_kill_suidgid - must the request being answered clear set-id bits?
 *
 * True for a write, truncate or O_TRUNC open by a process without
 * CAP_FSETID on a file whose S_ISUID or S_ISGID the kernel wants gone
 * (FUSE_HANDLE_KILLPRIV_V2). Valid in the handler's thread.
 *
 * Return: the flag.
 */
bool ovl_req_kill_suidgid(void)
{
	return ovl_loop_kill;
}

/* Whether the request in @b carries a kill flag. */
static bool ovl_loop_kill_flag(const struct fuse_buf *b, size_t len)
{
	switch (ovl_loop_opcode(b, len)) {
	case OVL_OP_WRITE:
		return ovl_loop_bit(b, len, OVL_WRITE_FLAGS,
				    OVL_WRITE_KILL_SUIDGID);
	case OVL_OP_SETATTR:
		return ovl_loop_bit(b, len, OVL_SETATTR_VALID,
				    OVL_FATTR_KILL_SUIDGID);
	case OVL_OP_OPEN:
		return ovl_loop_bit(b, len, OVL_OPEN_OPEN_FLAGS,
				    OVL_OPEN_KILL_SUIDGID);
	default:
		return false;
	}
}

/*
 * An INIT: remember its unique and what the kernel offered, so that
 * ovl_op_init() can choose and ovl_io_writev() can add to its reply
 * what libfuse 3.14 does not know (FUSE_HANDLE_KILLPRIV_V2, protocol
 * 7.33, and FUSE_PASSTHROUGH, 7.40, in flags2).
 */
static void ovl_loop_note_init(struct ovl_fs *ofs, const struct fuse_buf *b,
			       size_t len)
{
	uint64_t flags;

	if (ovl_loop_opcode(b, len) != OVL_OP_INIT || len < OVL_INIT_FLAGS2 + 4)
		return;
	flags = ovl_loop_u32(b, OVL_INIT_FLAGS);
	if (flags & OVL_INIT_EXT)
		flags |= (uint64_t)ovl_loop_u32(b, OVL_INIT_FLAGS2) << 32;
	if (ovl_loop_u32(b, OVL_INIT_MINOR) < 33)
		flags &= ~(uint64_t)OVL_HANDLE_KILLPRIV_V2;
	ofs->init_flags = flags;
	memcpy(&ofs->init_unique, (const char *)b->mem + OVL_IN_UNIQUE,
	       sizeof(ofs->init_unique));
	__atomic_store_n(&ofs->init_pending, true, __ATOMIC_RELEASE);
}

/* Runs one request in this thread. */
static void ovl_loop_process(struct ovl_loop *l, struct fuse_buf *b, size_t len)
{
	ovl_loop_note_init(l->ofs, b, len);
	ovl_loop_kill = ovl_loop_kill_flag(b, len);
	fuse_session_process_buf(l->se, b);
	ovl_loop_kill = false;
}

/*
 * Runs one request in this thread; one from ring entry @ent (or NULL)
 * is answered into it and given back (uring.c).
 */
static void ovl_loop_answer(struct ovl_loop *l, struct fuse_buf *b, size_t len,
			    struct ovl_uring_ent *ent)
{
	if (ent)
		ovl_uring_begin(ent);
	ovl_loop_process(l, b, len);
	if (ent)
		ovl_uring_end(ent);
}

static ssize_t ovl_io_read(int fd, void *buf, size_t len, void *userdata)
{
	(void)userdata;
	return read(fd, buf, len);
}

/*
 * Adds to the INIT reply in @p (struct fuse_init_out, @len bytes) what
 * libfuse 3.14 cannot: FUSE_HANDLE_KILLPRIV_V2 when the kernel offered
 * it, FUSE_PASSTHROUGH when ovl_op_init() chose it (with the stack
 * depth of errovl's files, one above the upper filesystem's), and
 * FUSE_OVER_IO_URING when the kernel offered it and the rings are set
 * up. libfuse built the reply in memory of its own, which is writable.
 * Returns whether the rings must be started once the reply is written.
 */
static bool ovl_loop_patch_init(struct ovl_fs *ofs, char *p, size_t len)
{
	uint32_t flags, flags2 = 0, depth = 1, max_write;
	uint16_t max_pages;
	bool ext = len >= OVL_INIT_OUT_DEPTH + 4, uring = false;

	memcpy(&flags, p + OVL_INIT_OUT_FLAGS, sizeof(flags));
	if (ext)
		memcpy(&flags2, p + OVL_INIT_OUT_FLAGS2, sizeof(flags2));
	if (ofs->init_flags & OVL_HANDLE_KILLPRIV_V2) {
		flags |= OVL_HANDLE_KILLPRIV_V2;
		ovl_dbg(ofs, "init: FUSE_HANDLE_KILLPRIV_V2 on");
	}
	if (ofs->passthrough && ext) {
		flags2 |= OVL_PASSTHROUGH2;
		memcpy(p + OVL_INIT_OUT_DEPTH, &depth, sizeof(depth));
		ovl_dbg(ofs, "init: FUSE_PASSTHROUGH on");
	}
	if (ofs->uring && ext && (ofs->init_flags & OVL_FUSE_OVER_IO_URING)) {
		memcpy(&max_write, p + OVL_INIT_OUT_MAX_WRITE,
		       sizeof(max_write));
		memcpy(&max_pages, p + OVL_INIT_OUT_MAX_PAGES,
		       sizeof(max_pages));
		uring = ovl_uring_prepare(ofs->uring, max_write, max_pages) ==
			0;
	}
	if (uring) {
		flags2 |= (uint32_t)(OVL_FUSE_OVER_IO_URING >> 32);
		ovl_dbg(ofs, "init: FUSE_OVER_IO_URING on");
	}
	if (flags2)
		flags |= OVL_INIT_EXT;
	if (ext)
		memcpy(p + OVL_INIT_OUT_FLAGS2, &flags2, sizeof(flags2));
	memcpy(p + OVL_INIT_OUT_FLAGS, &flags, sizeof(flags));
	return uring;
}

/*
 * Every reply and notification goes out here: the INIT reply and the
 * replies to opens that pass through get what libfuse cannot write,
 * and a reply to a request that came in a ring entry goes back in it.
 */
static ssize_t ovl_io_writev(int fd, struct iovec *iov, int count,
			     void *userdata)
{
	struct ovl_fs *ofs = userdata;
	bool init = false, uring = false;
	uint64_t unique;
	int32_t error;
	ssize_t res;

	/* struct fuse_out_header: len (4), error (4), unique (8) */
	if (count >= 2 && iov[0].iov_len == 16) {
		memcpy(&error, (char *)iov[0].iov_base + 4, sizeof(error));
		memcpy(&unique, (char *)iov[0].iov_base + 8, sizeof(unique));
		if (__atomic_load_n(&ofs->init_pending, __ATOMIC_ACQUIRE) &&
		    unique == ofs->init_unique && error == 0 &&
		    iov[1].iov_len >= OVL_INIT_OUT_FLAGS + 4) {
			uring = ovl_loop_patch_init(ofs, iov[1].iov_base,
						    iov[1].iov_len);
			init = true;
			__atomic_store_n(&ofs->init_pending, false,
					 __ATOMIC_RELAXED);
		}
		ovl_passthrough_patch(unique, error, &iov[count - 1]);
	}
	res = ovl_uring_reply(iov, count);
	if (res != -ENOENT)
		return res;
	res = writev(fd, iov, count);
	/*
	 * The kernel applied the INIT's readahead limit: raise it before
	 * any request is answered (files opened from now on get it).
	 */
	if (init && res >= 0)
		ovl_super_readahead(ofs);
	/* The kernel holds requests until the entries are registered. */
	if (uring && res >= 0)
		ovl_uring_start(ofs->uring);
	return res;
}

static ssize_t ovl_io_splice(int fdin, off_t *offin, int fdout, off_t *offout,
			     size_t len, unsigned int flags, void *userdata)
{
	(void)userdata;
	return splice(fdin, offin, fdout, offout, len, flags);
}

static const struct fuse_custom_io ovl_io = {
	.read = ovl_io_read,
	.writev = ovl_io_writev,
	.splice_send = ovl_io_splice,
};

static void *ovl_loop_worker(void *arg)
{
	struct ovl_loop *l = arg;
	struct ovl_work *w;

	ovl_loop_worker_thread = true;
	for (;;) {
		pthread_mutex_lock(&l->lock);
		while (!l->head && !l->stop)
			pthread_cond_wait(&l->cond, &l->lock);
		w = l->head;
		if (w) {
			l->head = w->next;
			if (!l->head)
				l->tail = NULL;
		}
		pthread_mutex_unlock(&l->lock);
		if (!w)
			return NULL; /* stop, and nothing left */
		ovl_loop_answer(l, &w->buf, w->len, w->ent);
		if (!w->ent)
			free(w->buf.mem);
		__atomic_sub_fetch(&l->pending, 1, __ATOMIC_RELEASE);
		free(w);
	}
}

/*
 * Hands @b (from ring entry @ent, or NULL) to a worker; on success @b
 * is reset for the next read.
 */
static int ovl_loop_queue(struct ovl_loop *l, struct fuse_buf *b, size_t len,
			  struct ovl_uring_ent *ent)
{
	struct ovl_work *w = malloc(sizeof(*w));

	if (!w)
		return -ENOMEM;
	w->buf = *b;
	w->len = len;
	w->ent = ent;
	w->next = NULL;
	memset(b, 0, sizeof(*b));
	__atomic_add_fetch(&l->pending, 1, __ATOMIC_RELAXED);
	pthread_mutex_lock(&l->lock);
	if (l->tail)
		l->tail->next = w;
	else
		l->head = w;
	l->tail = w;
	pthread_cond_signal(&l->cond);
	pthread_mutex_unlock(&l->lock);
	return 0;
}

/*
 * Answers the request in @b (from ring entry @ent, or NULL) here when
 * it is quick, else hands it to a worker; without a worker, or without
 * memory, it is answered here too.
 */
static void ovl_loop_dispatch(struct ovl_loop *l, struct fuse_buf *b,
			      size_t len, struct ovl_uring_ent *ent)
{
	ovl_loop_tmpfile(b, len);
	if (l->nr_workers && ovl_loop_is_slow(l, b, len) &&
	    ovl_loop_queue(l, b, len, ent) == 0)
		return;
	ovl_loop_answer(l, b, len, ent);
}

/**
 * ovl_loop_uring_request - answer a request that came in a ring entry
 * @loop: the loop (struct ovl_loop)
 * @e: the entry, answered through ovl_uring_end()
 * @b: the request, in @e's buffers
 * @len: its length
 *
 * Like a request read from /dev/fuse.
 *
 * Context: the queue thread of @e (uring.c).
 */
void ovl_loop_uring_request(void *loop, struct ovl_uring_ent *e,
			    struct fuse_buf *b, size_t len)
{
	ovl_loop_dispatch(loop, b, len, e);
}

/*
 * Adapts the polling window after a sleep of @slept ns that followed a
 * window in which nothing came: the next request came soon after the
 * window closed, so a longer one would have caught it (double it, up
 * to -o spin); or it came late, so polling was wasted (halve it).
 */
static void ovl_loop_adapt(struct ovl_loop *l, uint64_t slept)
{
	uint64_t max = (uint64_t)l->ofs->config.spin_us * 1000u;

	if (slept < max)
		l->spin_ns = l->spin_ns ? l->spin_ns * 2 : max / 8;
	else
		l->spin_ns /= 2;
	if (l->spin_ns > max)
		l->spin_ns = max;
	if (l->spin_ns < 1000)
		l->spin_ns = slept < max ? 1000 : 0;
}

/*
 * Reads the next request into @b. /dev/fuse is non-blocking: the
 * reader polls for it for the current window (at most -o spin), then
 * sleeps in poll(). While a worker answers a request the reader does
 * not poll: a serial client waits for that answer first, and the
 * worker needs the CPU. Returns what fuse_session_receive_buf() does
 * (-EINTR on a signal).
 */
static int ovl_loop_receive(struct ovl_loop *l, struct fuse_buf *b)
{
	struct pollfd pfd = {.fd = fuse_session_fd(l->se), .events = POLLIN};
	uint64_t until = ovl_clock_ns(CLOCK_MONOTONIC) + l->spin_ns, t;
	bool spun;
	int res;

	for (;;) {
		res = fuse_session_receive_buf(l->se, b);
		if (res != -EAGAIN)
			return res;
		t = ovl_clock_ns(CLOCK_MONOTONIC);
		/* With io_uring only FORGET and INTERRUPT come here. */
		spun = !__atomic_load_n(&l->pending, __ATOMIC_ACQUIRE) &&
		       !ovl_uring_active(l->ofs->uring);
		if (t < until && spun)
			continue;
		if (poll(&pfd, 1, -1) < 0 && errno == EINTR)
			return -EINTR;
		if (spun && l->ofs->config.spin_us)
			ovl_loop_adapt(l, ovl_clock_ns(CLOCK_MONOTONIC) - t);
		until = ovl_clock_ns(CLOCK_MONOTONIC) + l->spin_ns;
	}
}

/**
 * ovl_loop_run - serve requests until unmount or a signal
 * @ofs: the mount
 * @se: its session, mounted
 *
 * With -o threaded=0 there are no workers: the reader answers all.
 *
 * Context: the daemon's main thread; starts and joins the workers.
 * Return: 0, or -errno when reading /dev/fuse failed.
 */
int ovl_loop_run(struct ovl_fs *ofs, struct fuse_session *se)
{
	struct ovl_loop l = {.ofs = ofs,
			     .se = se,
			     .spin_ns = (uint64_t)ofs->config.spin_us * 1000u};
	pthread_t tid[OVL_LOOP_WORKERS];
	struct fuse_buf buf = {0};
	unsigned int nr = 0;
	int res = 0, fd = fuse_session_fd(se), fl = fcntl(fd, F_GETFL);

	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
		return -errno;
	pthread_mutex_init(&l.lock, NULL);
	pthread_cond_init(&l.cond, NULL);
	for (; ofs->config.threaded && nr < OVL_LOOP_WORKERS; nr++)
		if (ovl_thread_create(&tid[nr], ovl_loop_worker, &l) < 0)
			break;
	l.nr_workers = nr;
	/*
	 * Without the hooks the kernel keeps asking for capabilities
	 * (slower only), and no INIT reply can ask for io_uring.
	 */
	if (fuse_session_custom_io(se, &ovl_io, fd) != 0)
		ovl_log(LOG_WARNING, "cannot install the request I/O hooks");
	else if (nr && ofs->config.uring)
		ofs->uring = ovl_uring_create(ofs, &l, fd);
	while (!fuse_session_exited(se)) {
		res = ovl_loop_receive(&l, &buf);
		if (res == -EINTR)
			continue;
		if (res <= 0)
			break;
		ovl_loop_dispatch(&l, &buf, (size_t)res, NULL);
	}
	free(buf.mem);
	ovl_uring_stop(ofs->uring);
	pthread_mutex_lock(&l.lock);
	l.stop = true;
	pthread_cond_broadcast(&l.cond);
	pthread_mutex_unlock(&l.lock);
	while (nr)
		pthread_join(tid[--nr], NULL);
	ovl_uring_destroy(ofs->uring);
	ofs->uring = NULL;
	pthread_cond_destroy(&l.cond);
	pthread_mutex_destroy(&l.lock);
	fuse_session_reset(se);
	return res < 0 ? res : 0;
}

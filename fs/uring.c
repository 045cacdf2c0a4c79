// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * FUSE over io_uring: requests arrive on per-CPU queues.
 *
 * With /dev/fuse, a request is queued for whichever daemon thread reads
 * next, usually on another CPU than the process that sent it. That
 * process then sleeps until the answer comes; on a virtual machine its
 * idle CPU halts, and waking a halted CPU costs more than most
 * requests take to answer.
 *
 * Linux 6.14 can deliver requests through io_uring instead (when the
 * fuse module's enable_uring parameter is on; the kernel then offers
 * FUSE_OVER_IO_URING in the INIT). The daemon registers ring entries,
 * each a header buffer and a payload buffer, on one queue per
 * possible CPU; the kernel puts a request on the queue of the CPU its
 * sender runs on and completes one of that queue's entries. Here each
 * queue has a thread bound to its CPU, so the sender's CPU switches to
 * that thread and back instead of halting.
 *
 * An entry carries one request at a time: the fuse_in_header in the
 * header buffer, the opcode's fixed argument next to it, the rest
 * (names, write data) in the payload buffer. The queue thread copies
 * the first two in front of the payload, which gives libfuse the
 * request as /dev/fuse would have delivered it, and answers or hands
 * it to a worker like the /dev/fuse reader (loop.c). The reply, which
 * libfuse writes through the loop's writev hook, is captured into the
 * same entry (ovl_uring_reply()); a COMMIT_AND_FETCH command gives it
 * back to the kernel and rearms the entry. A worker returns its entry
 * to the queue thread, the only one that submits to its ring, through
 * a list and an eventfd that the ring reads.
 *
 * Staying on the sender's CPU: when the queue thread answers, the
 * kernel wakes the sender and, seeing the thread still running there,
 * prefers an idle CPU for it: the sender moves, its next request goes
 * to the other queue, and every request wakes a halted CPU after all.
 * A CPU that runs only SCHED_IDLE threads counts as idle, so queue
 * threads run as SCHED_IDLE and the woken sender stays (and preempts
 * them at once, which is what a synchronous wake-up would do). That
 * policy would starve them behind any other busy thread, so it is
 * only kept while no thread waits for a CPU (the runnable count of
 * /proc/loadavg, looked at every 10 ms of activity); otherwise they
 * run as SCHED_OTHER, and a busy machine has no idle CPU to move the
 * sender to anyway. Going back from SCHED_IDLE needs CAP_SYS_NICE;
 * without it the threads never leave SCHED_OTHER.
 *
 * FORGET and INTERRUPT still come through /dev/fuse, and notifications
 * still go there. The kernel holds new requests from the INIT reply
 * until every queue has an entry, and falls back to /dev/fuse when a
 * registration fails; the rings and the entries' buffers are therefore
 * set up before the INIT is answered, and the flag is only set when
 * they exist. A queue whose ring fails later would hold its CPU's
 * requests forever: the daemon unmounts instead.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <linux/io_uring.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include "ovl.h"

/* include/uapi/linux/fuse.h, protocol 7.42 */
enum {
	OVL_URING_CMD_REGISTER = 1,
	OVL_URING_CMD_COMMIT_AND_FETCH = 2,
};

/* The header buffer of a ring entry (struct fuse_uring_req_header). */
struct ovl_uring_hdr {
	char in_out[128]; /* fuse_in_header; the reply's fuse_out_header */
	char op_in[128]; /* the opcode's fixed argument */
	uint64_t flags;
	uint64_t commit_id;
	uint32_t payload_sz; /* bytes in the payload, both ways */
	uint32_t padding;
	uint64_t reserved;
};

/* In the command area of a 128-byte SQE (struct fuse_uring_cmd_req). */
struct ovl_uring_cmd {
	uint64_t flags;
	uint64_t commit_id;
	uint16_t qid;
	uint8_t padding[6];
};

#define OVL_URING_ENTS 16 /* requests in flight per queue */
#define OVL_URING_SQES 32 /* ring size: the entries and the eventfd read */
#define OVL_URING_SQE_SIZE 128
#define OVL_URING_IN_HDR 40 /* struct fuse_in_header */
#define OVL_URING_OUT_HDR 16 /* struct fuse_out_header */
#define OVL_URING_PAGE 4096 /* room for the header before the payload */
#define OVL_URING_EFD_TAG 1 /* user_data of the eventfd read */
#define OVL_URING_CHECK_NS 10000000ull /* look at the run queues */
#define OVL_URING_CLEAN 3 /* uncontended looks before SCHED_IDLE again */

struct ovl_ring {
	int fd;
	void *sq_map, *cq_map;
	size_t sq_len, cq_len;
	char *sqes;
	unsigned int *sq_head, *sq_tail, *sq_array, sq_mask, sq_entries;
	unsigned int *cq_head, *cq_tail, cq_mask;
	struct io_uring_cqe *cqes;
	unsigned int tail; /* our SQ tail, published by ovl_ring_enter() */
};

struct ovl_uring_ent {
	struct ovl_uring_queue *q;
	struct ovl_uring_hdr *hdr;
	char *payload; /* two pages after hdr; the request is built before it */
	struct iovec iov[2];
	uint64_t unique; /* of the request being answered */
	bool replied; /* its reply is in the buffers */
	struct ovl_uring_ent *next; /* on the queue's done list */
};

struct ovl_uring_queue {
	struct ovl_uring *u;
	unsigned int qid;
	pthread_t tid;
	bool started;
	struct ovl_ring ring;
	int efd; /* a worker returned an entry, or stop */
	uint64_t efd_val;
	pthread_mutex_t lock;
	struct ovl_uring_ent *done; /* answered by workers; under lock */
	struct ovl_uring_ent ents[OVL_URING_ENTS];
	unsigned int live; /* entries the kernel still holds or we answer */
	int loadavg_fd; /* /proc/loadavg, or -1: never SCHED_IDLE */
	bool idle; /* the thread runs as SCHED_IDLE */
	unsigned int clean; /* uncontended looks in a row */
	uint64_t next_check; /* CLOCK_MONOTONIC ns */
};

struct ovl_uring {
	void *loop; /* struct ovl_loop, for ovl_loop_uring_request() */
	int fuse_fd;
	unsigned int nr_queues;
	unsigned int nr_online; /* CPUs online */
	bool may_idle; /* CAP_SYS_NICE: can leave SCHED_IDLE again */
	struct ovl_uring_queue *queues;
	size_t payload; /* payload buffer size, set by ovl_uring_prepare() */
	pthread_mutex_t lock;
	pthread_cond_t cond;
	unsigned int reported; /* queues that tried to set up their ring */
	int setup_err; /* first failure; under lock */
	int state; /* 0 set up, 1 register, 2 stop; under lock */
	bool active; /* ovl_uring_start() was called; atomic */
};

/* The entry this thread answers, or NULL. */
static __thread struct ovl_uring_ent *ovl_uring_cur;
/* The queue this thread serves, in queue threads only. */
static __thread struct ovl_uring_queue *ovl_uring_self;

static int ovl_ring_setup(struct ovl_ring *r, unsigned int entries)
{
	struct io_uring_params p;
	int fd;

	memset(r, 0, sizeof(*r));
	r->fd = -1; /* nothing to free if the setup fails */
	memset(&p, 0, sizeof(p));
	p.flags = IORING_SETUP_SQE128 | IORING_SETUP_SINGLE_ISSUER |
		  IORING_SETUP_DEFER_TASKRUN;
	fd = (int)syscall(__NR_io_uring_setup, entries, &p);
	if (fd < 0 && errno == EINVAL) {
		memset(&p, 0, sizeof(p));
		p.flags = IORING_SETUP_SQE128;
		fd = (int)syscall(__NR_io_uring_setup, entries, &p);
	}
	if (fd < 0)
		return -errno;
	r->fd = fd;
	r->sq_len = p.sq_off.array + p.sq_entries * sizeof(unsigned int);
	r->cq_len = p.cq_off.cqes + p.cq_entries * sizeof(struct io_uring_cqe);
	if (p.features & IORING_FEAT_SINGLE_MMAP) {
		if (r->cq_len > r->sq_len)
			r->sq_len = r->cq_len;
		r->cq_len = 0;
	}
	r->sq_map = mmap(NULL, r->sq_len, PROT_READ | PROT_WRITE,
			 MAP_SHARED | MAP_POPULATE, fd, IORING_OFF_SQ_RING);
	if (r->sq_map == MAP_FAILED)
		goto fail;
	r->cq_map = r->sq_map;
	if (r->cq_len) {
		r->cq_map =
			mmap(NULL, r->cq_len, PROT_READ | PROT_WRITE,
			     MAP_SHARED | MAP_POPULATE, fd, IORING_OFF_CQ_RING);
		if (r->cq_map == MAP_FAILED)
			goto fail;
	}
	r->sqes = mmap(NULL, p.sq_entries * OVL_URING_SQE_SIZE,
		       PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd,
		       IORING_OFF_SQES);
	if (r->sqes == MAP_FAILED)
		goto fail;
	r->sq_entries = p.sq_entries;
	r->sq_head = (unsigned int *)((char *)r->sq_map + p.sq_off.head);
	r->sq_tail = (unsigned int *)((char *)r->sq_map + p.sq_off.tail);
	r->sq_mask = *(unsigned int *)((char *)r->sq_map + p.sq_off.ring_mask);
	r->sq_array = (unsigned int *)((char *)r->sq_map + p.sq_off.array);
	r->cq_head = (unsigned int *)((char *)r->cq_map + p.cq_off.head);
	r->cq_tail = (unsigned int *)((char *)r->cq_map + p.cq_off.tail);
	r->cq_mask = *(unsigned int *)((char *)r->cq_map + p.cq_off.ring_mask);
	r->cqes = (struct io_uring_cqe *)((char *)r->cq_map + p.cq_off.cqes);
	r->tail = *r->sq_tail;
	return 0;
fail:
	fd = -errno;
	if (r->sq_map && r->sq_map != MAP_FAILED)
		munmap(r->sq_map, r->sq_len);
	if (r->cq_len && r->cq_map && r->cq_map != MAP_FAILED)
		munmap(r->cq_map, r->cq_len);
	close(r->fd);
	memset(r, 0, sizeof(*r));
	r->fd = -1;
	return fd;
}

static void ovl_ring_free(struct ovl_ring *r)
{
	if (r->fd < 0)
		return;
	munmap(r->sqes, r->sq_entries * OVL_URING_SQE_SIZE);
	if (r->cq_len)
		munmap(r->cq_map, r->cq_len);
	munmap(r->sq_map, r->sq_len);
	close(r->fd);
	r->fd = -1;
}

/* Submits what was prepared and, with @wait, waits for a completion. */
static int ovl_ring_enter(struct ovl_ring *r, bool wait)
{
	unsigned int n;
	long res;

	__atomic_store_n(r->sq_tail, r->tail, __ATOMIC_RELEASE);
	n = r->tail - __atomic_load_n(r->sq_head, __ATOMIC_ACQUIRE);
	res = syscall(__NR_io_uring_enter, r->fd, n, wait ? 1 : 0,
		      wait ? IORING_ENTER_GETEVENTS : 0, NULL, 0);
	return res < 0 ? -errno : 0;
}

/*
 * Every entry has at most one command waiting to be submitted or in
 * flight, the eventfd one read: the ring never fills.
 */
_Static_assert(OVL_URING_SQES > OVL_URING_ENTS + 1, "io_uring too small");

/* A zeroed SQE to fill. */
static struct io_uring_sqe *ovl_ring_sqe(struct ovl_ring *r)
{
	struct io_uring_sqe *sqe;
	unsigned int idx;

	idx = r->tail & r->sq_mask;
	sqe = (struct io_uring_sqe *)(r->sqes + idx * OVL_URING_SQE_SIZE);
	memset(sqe, 0, OVL_URING_SQE_SIZE);
	r->sq_array[idx] = idx;
	r->tail++;
	return sqe;
}

/* Prepares a REGISTER or COMMIT_AND_FETCH of @e. */
static void ovl_uring_cmd(struct ovl_uring_ent *e, uint32_t op)
{
	struct ovl_uring_queue *q = e->q;
	struct io_uring_sqe *sqe = ovl_ring_sqe(&q->ring);
	struct ovl_uring_cmd cmd = {.qid = (uint16_t)q->qid};

	if (op == OVL_URING_CMD_COMMIT_AND_FETCH)
		cmd.commit_id = e->hdr->commit_id;
	sqe->opcode = IORING_OP_URING_CMD;
	sqe->fd = q->u->fuse_fd;
	sqe->cmd_op = op;
	if (op == OVL_URING_CMD_REGISTER) {
		/* Read once, at submission: header and payload buffer. */
		sqe->addr = (uint64_t)(uintptr_t)e->iov;
		sqe->len = 2;
	}
	sqe->user_data = (uint64_t)(uintptr_t)e;
	memcpy(sqe->cmd, &cmd, sizeof(cmd));
}

static void ovl_uring_arm_efd(struct ovl_uring_queue *q)
{
	struct io_uring_sqe *sqe = ovl_ring_sqe(&q->ring);

	sqe->opcode = IORING_OP_READ;
	sqe->fd = q->efd;
	sqe->addr = (uint64_t)(uintptr_t)&q->efd_val;
	sqe->len = sizeof(q->efd_val);
	sqe->user_data = OVL_URING_EFD_TAG;
}

/* Fills @e's reply with an error: the handler did not answer. */
static void ovl_uring_reply_err(struct ovl_uring_ent *e, int err)
{
	char out[OVL_URING_OUT_HDR];
	uint32_t len = OVL_URING_OUT_HDR;
	int32_t error = -err;

	memcpy(out, &len, 4);
	memcpy(out + 4, &error, 4);
	memcpy(out + 8, &e->unique, 8);
	memcpy(e->hdr->in_out, out, sizeof(out));
	e->hdr->payload_sz = 0;
	e->replied = true;
}

/**
 * ovl_uring_reply - capture a reply into the entry of its request
 * @iov: the reply: struct fuse_out_header, then its data
 * @count: number of elements of @iov
 *
 * Called by the loop's writev hook for every reply and notification.
 * A reply to the request this thread answers from a ring entry is
 * copied into the entry (data already in place, see
 * ovl_uring_payload(), is not copied); anything else is not ours.
 *
 * Return: the reply's length (a reply too large for the entry becomes
 * an EIO reply), or -ENOENT when the caller must write it to /dev/fuse.
 */
ssize_t ovl_uring_reply(const struct iovec *iov, int count)
{
	struct ovl_uring_ent *e = ovl_uring_cur;
	size_t n = 0, room;
	uint64_t unique;
	int i;

	if (!e || count < 1 || iov[0].iov_len != OVL_URING_OUT_HDR)
		return -ENOENT;
	memcpy(&unique, (const char *)iov[0].iov_base + 8, sizeof(unique));
	if (unique != e->unique || e->replied)
		return -ENOENT;
	room = e->q->u->payload;
	for (i = 1; i < count; i++) {
		if (iov[i].iov_len > room - n) {
			ovl_log(LOG_ERR,
				"reply of %zu+ bytes exceeds the "
				"io_uring payload",
				n + iov[i].iov_len);
			ovl_uring_reply_err(e, EIO);
			return (ssize_t)OVL_URING_OUT_HDR;
		}
		if (iov[i].iov_base != e->payload + n)
			memmove(e->payload + n, iov[i].iov_base,
				iov[i].iov_len);
		n += iov[i].iov_len;
	}
	memcpy(e->hdr->in_out, iov[0].iov_base, OVL_URING_OUT_HDR);
	e->hdr->payload_sz = (uint32_t)n;
	e->replied = true;
	return (ssize_t)(OVL_URING_OUT_HDR + n);
}

/**
 * ovl_uring_payload - where to put reply data of @size bytes
 * @size: bytes the handler wants to reply with
 *
 * A handler that reads data to reply with (READ) can read it straight
 * into the ring entry's payload buffer, which ovl_uring_reply() then
 * does not copy. The request's own payload is gone once it is used.
 *
 * Return: the buffer, or NULL when this thread answers no ring entry
 * or @size does not fit.
 */
void *ovl_uring_payload(size_t size)
{
	struct ovl_uring_ent *e = ovl_uring_cur;

	return e && size <= e->q->u->payload ? e->payload : NULL;
}

/**
 * ovl_uring_begin - this thread answers the request of @e
 * @e: the entry
 */
void ovl_uring_begin(struct ovl_uring_ent *e)
{
	e->replied = false;
	ovl_uring_cur = e;
}

/**
 * ovl_uring_end - the request of @e is answered; give it back
 * @e: the entry
 *
 * In the queue thread the commit is prepared at once; a worker puts
 * the entry on its queue's done list and wakes the queue thread.
 */
void ovl_uring_end(struct ovl_uring_ent *e)
{
	struct ovl_uring_queue *q = e->q;
	uint64_t one = 1;

	ovl_uring_cur = NULL;
	if (!e->replied) {
		ovl_log(LOG_ERR, "request %llu got no reply",
			(unsigned long long)e->unique);
		ovl_uring_reply_err(e, EIO);
	}
	if (ovl_uring_self == q) {
		ovl_uring_cmd(e, OVL_URING_CMD_COMMIT_AND_FETCH);
		return;
	}
	pthread_mutex_lock(&q->lock);
	e->next = q->done;
	q->done = e;
	pthread_mutex_unlock(&q->lock);
	if (write(q->efd, &one, sizeof(one)) < 0)
		ovl_log(LOG_ERR, "io_uring queue %u: cannot wake: %s", q->qid,
			strerror(errno));
}

/* Commits the entries workers answered. */
static void ovl_uring_drain(struct ovl_uring_queue *q)
{
	struct ovl_uring_ent *e, *next;

	pthread_mutex_lock(&q->lock);
	e = q->done;
	q->done = NULL;
	pthread_mutex_unlock(&q->lock);
	for (; e; e = next) {
		next = e->next;
		ovl_uring_cmd(e, OVL_URING_CMD_COMMIT_AND_FETCH);
	}
}

/*
 * A request arrived in @e: rebuild it as /dev/fuse delivers it (header,
 * fixed argument, payload) in front of the payload and answer it.
 */
static void ovl_uring_request(struct ovl_uring_queue *q,
			      struct ovl_uring_ent *e)
{
	struct ovl_uring_hdr *h = e->hdr;
	uint32_t len, psz = h->payload_sz;
	struct fuse_buf b = {0};
	size_t op;
	char *start;

	memcpy(&len, h->in_out, sizeof(len));
	memcpy(&e->unique, h->in_out + 8, sizeof(e->unique));
	if (len < OVL_URING_IN_HDR || psz > q->u->payload ||
	    len - OVL_URING_IN_HDR < psz ||
	    (op = len - OVL_URING_IN_HDR - psz) > sizeof(h->op_in)) {
		ovl_log(LOG_ERR,
			"io_uring queue %u: malformed request "
			"(length %u, payload %u)",
			q->qid, len, psz);
		ovl_uring_reply_err(e, EIO);
		ovl_uring_cmd(e, OVL_URING_CMD_COMMIT_AND_FETCH);
		return;
	}
	start = e->payload - OVL_URING_IN_HDR - op;
	memcpy(start, h->in_out, OVL_URING_IN_HDR);
	memcpy(start + OVL_URING_IN_HDR, h->op_in, op);
	b.mem = start;
	b.size = len;
	ovl_loop_uring_request(q->u->loop, e, &b, len);
}

static int ovl_uring_ents_init(struct ovl_uring_queue *q)
{
	size_t payload = q->u->payload;
	unsigned int i;

	for (i = 0; i < OVL_URING_ENTS; i++) {
		struct ovl_uring_ent *e = &q->ents[i];
		size_t len = 2 * OVL_URING_PAGE + payload;
		char *m = mmap(NULL, len, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1,
			       0);

		if (m == MAP_FAILED)
			return -errno;
		e->q = q;
		e->hdr = (struct ovl_uring_hdr *)m;
		e->payload = m + 2 * OVL_URING_PAGE;
		e->iov[0].iov_base = e->hdr;
		e->iov[0].iov_len = sizeof(*e->hdr);
		e->iov[1].iov_base = e->payload;
		e->iov[1].iov_len = payload;
	}
	return 0;
}

static void ovl_uring_ents_free(struct ovl_uring_queue *q)
{
	unsigned int i;

	for (i = 0; i < OVL_URING_ENTS; i++)
		if (q->ents[i].hdr) {
			munmap(q->ents[i].hdr,
			       2 * OVL_URING_PAGE + q->u->payload);
			q->ents[i].hdr = NULL;
		}
}

/* Tells ovl_uring_create() how setting up the ring went. */
static void ovl_uring_report(struct ovl_uring *u, int err)
{
	pthread_mutex_lock(&u->lock);
	if (err && !u->setup_err)
		u->setup_err = err;
	u->reported++;
	pthread_cond_broadcast(&u->cond);
	pthread_mutex_unlock(&u->lock);
}

/* Waits for ovl_uring_start() or ovl_uring_destroy(); the state. */
static int ovl_uring_wait_go(struct ovl_uring *u)
{
	int state;

	pthread_mutex_lock(&u->lock);
	while (u->state == 0)
		pthread_cond_wait(&u->cond, &u->lock);
	state = u->state;
	pthread_mutex_unlock(&u->lock);
	return state;
}

/* Whether a thread waits for a CPU: more runnable threads than CPUs. */
static bool ovl_uring_contended(struct ovl_uring_queue *q)
{
	unsigned int running;
	char buf[128];
	ssize_t n = pread(q->loadavg_fd, buf, sizeof(buf) - 1, 0);

	if (n <= 0)
		return true;
	buf[n] = 0;
	/* "0.24 0.39 0.79 2/83 22692"; this thread is one of them. */
	if (sscanf(buf, "%*s %*s %*s %u/", &running) != 1)
		return true;
	return running > q->u->nr_online;
}

static void ovl_uring_set_idle(struct ovl_uring_queue *q, bool idle)
{
	struct sched_param sp = {0};

	if (sched_setscheduler(0, idle ? SCHED_IDLE : SCHED_OTHER, &sp) == 0)
		q->idle = idle;
	else if (q->idle)
		ovl_log(LOG_ERR,
			"io_uring queue %u: cannot leave SCHED_IDLE: %s",
			q->qid, strerror(errno));
}

/* Chooses the thread's policy, at most every OVL_URING_CHECK_NS. */
static void ovl_uring_sched(struct ovl_uring_queue *q)
{
	uint64_t now;

	if (q->loadavg_fd < 0)
		return;
	now = ovl_clock_ns(CLOCK_MONOTONIC);
	if (now < q->next_check)
		return;
	q->next_check = now + OVL_URING_CHECK_NS;
	if (ovl_uring_contended(q)) {
		q->clean = 0;
		if (q->idle)
			ovl_uring_set_idle(q, false);
	} else if (!q->idle && ++q->clean >= OVL_URING_CLEAN) {
		ovl_uring_set_idle(q, true);
	}
}

/* Handles one completion; false when the queue is done. */
static bool ovl_uring_complete(struct ovl_uring_queue *q, uint64_t tag, int res)
{
	struct ovl_uring *u = q->u;
	struct ovl_uring_ent *e;
	bool stop;

	if (tag == OVL_URING_EFD_TAG) {
		pthread_mutex_lock(&u->lock);
		stop = u->state == 2;
		pthread_mutex_unlock(&u->lock);
		if (stop)
			return false;
		ovl_uring_drain(q);
		ovl_uring_arm_efd(q);
		return true;
	}
	e = (struct ovl_uring_ent *)(uintptr_t)tag;
	if (res < 0) {
		/*
		 * ENOTCONN, ECANCELED, ECONNABORTED: unmounted or aborted;
		 * others: refused (said once for all the entries).
		 */
		if (res != -ENOTCONN && res != -ECANCELED &&
		    res != -ECONNABORTED &&
		    __atomic_exchange_n(&u->active, false, __ATOMIC_ACQ_REL))
			ovl_log(LOG_WARNING,
				"io_uring queue %u: %s; requests go through "
				"/dev/fuse",
				q->qid, strerror(-res));
		return --q->live > 0;
	}
	ovl_uring_request(q, e);
	return true;
}

static void *ovl_uring_thread(void *arg)
{
	struct ovl_uring_queue *q = arg;
	struct ovl_uring *u = q->u;
	struct io_uring_cqe *cqe;
	cpu_set_t set;
	unsigned int i, head;
	uint64_t tag;
	int r, res;

	ovl_uring_self = q;
	CPU_ZERO(&set);
	CPU_SET(q->qid, &set);
	/* A CPU that is not online yet: the thread runs anywhere. */
	(void)pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
	q->clean = OVL_URING_CLEAN - 1;
	q->loadavg_fd =
		u->may_idle ? open("/proc/loadavg", O_RDONLY | O_CLOEXEC) : -1;
	r = ovl_ring_setup(&q->ring, OVL_URING_SQES);
	if (r == 0) {
		q->efd = eventfd(0, EFD_CLOEXEC);
		if (q->efd < 0)
			r = -errno;
	}
	ovl_uring_report(u, r);
	if (r < 0 || ovl_uring_wait_go(u) != 1)
		return NULL;
	for (i = 0; i < OVL_URING_ENTS; i++)
		ovl_uring_cmd(&q->ents[i], OVL_URING_CMD_REGISTER);
	q->live = OVL_URING_ENTS;
	ovl_uring_arm_efd(q);
	for (;;) {
		r = ovl_ring_enter(&q->ring, true);
		if (r < 0 && r != -EINTR && r != -EAGAIN && r != -EBUSY) {
			/*
			 * The kernel keeps queueing this CPU's requests
			 * here; nobody would answer them. Unmount (the
			 * reader takes SIGTERM) rather than hang.
			 */
			ovl_log(LOG_ERR, "io_uring queue %u: %s; unmounting",
				q->qid, strerror(-r));
			kill(getpid(), SIGTERM);
			break;
		}
		head = *q->ring.cq_head;
		while (head !=
		       __atomic_load_n(q->ring.cq_tail, __ATOMIC_ACQUIRE)) {
			cqe = &q->ring.cqes[head & q->ring.cq_mask];
			tag = cqe->user_data;
			res = cqe->res;
			head++;
			__atomic_store_n(q->ring.cq_head, head,
					 __ATOMIC_RELEASE);
			if (!ovl_uring_complete(q, tag, res))
				return NULL;
		}
		ovl_uring_sched(q);
	}
	return NULL;
}

/* Reads the short text file @path into @buf (NUL-terminated). */
static bool ovl_uring_read_sys(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n = fd < 0 ? -1 : read(fd, buf, len - 1);

	if (fd >= 0)
		close(fd);
	if (n <= 0)
		return false;
	buf[n] = 0;
	return true;
}

/*
 * Whether the kernel will offer FUSE_OVER_IO_URING in the INIT: the
 * fuse module's enable_uring (off by default). Read before the INIT so
 * that no thread or ring is set up for nothing.
 */
static bool ovl_uring_offered(void)
{
	char buf[8];

	return ovl_uring_read_sys("/sys/module/fuse/parameters/enable_uring",
				  buf, sizeof(buf)) &&
	       buf[0] == 'Y';
}

/* The number of possible CPUs: the kernel has one queue for each. */
static unsigned int ovl_uring_nr_cpus(void)
{
	unsigned int lo, hi, max = 0;
	char buf[256], *p = buf;

	if (!ovl_uring_read_sys("/sys/devices/system/cpu/possible", buf,
				sizeof(buf)))
		return 0;
	/* "0-3", "0,2-5": the highest number counts. */
	while (*p) {
		if (sscanf(p, "%u-%u", &lo, &hi) == 2)
			max = hi + 1 > max ? hi + 1 : max;
		else if (sscanf(p, "%u", &lo) == 1)
			max = lo + 1 > max ? lo + 1 : max;
		p += strcspn(p, ",");
		if (*p)
			p++;
	}
	return max <= 1024 ? max : 0;
}

/**
 * ovl_uring_create - prepare FUSE over io_uring for a mount
 * @ofs: the mount
 * @loop: its request loop, handed back in ovl_loop_uring_request()
 * @fuse_fd: its /dev/fuse descriptor
 *
 * Starts one thread per possible CPU; each sets up its io_uring and
 * waits for ovl_uring_start(). Fails when the fuse module will not
 * offer io_uring, or when any ring cannot be set up (kernel without
 * io_uring, io_uring_disabled, ...): then the mount does not ask for
 * FUSE_OVER_IO_URING.
 *
 * Return: the rings, or NULL.
 */
struct ovl_uring *ovl_uring_create(struct ovl_fs *ofs, void *loop, int fuse_fd)
{
	struct ovl_uring *u;
	unsigned int i, n;
	long online;
	int err;

	if (!ovl_uring_offered())
		return NULL;
	u = calloc(1, sizeof(*u));
	n = ovl_uring_nr_cpus();
	if (!u || !n)
		goto fail;
	u->loop = loop;
	u->fuse_fd = fuse_fd;
	online = sysconf(_SC_NPROCESSORS_ONLN);
	u->nr_online = online > 0 ? (unsigned int)online : 0;
	/* Leaving SCHED_IDLE again needs CAP_SYS_NICE. */
	u->may_idle = ovl_capable(CAP_SYS_NICE) && u->nr_online > 0;
	u->queues = calloc(n, sizeof(*u->queues));
	if (!u->queues)
		goto fail;
	pthread_mutex_init(&u->lock, NULL);
	pthread_cond_init(&u->cond, NULL);
	u->nr_queues = n;
	for (i = 0; i < n; i++) {
		struct ovl_uring_queue *q = &u->queues[i];

		q->u = u;
		q->qid = i;
		q->efd = -1;
		q->loadavg_fd = -1;
		q->ring.fd = -1;
		pthread_mutex_init(&q->lock, NULL);
		if (ovl_thread_create(&q->tid, ovl_uring_thread, q) < 0) {
			ovl_uring_report(u, -EAGAIN);
			continue;
		}
		q->started = true;
	}
	pthread_mutex_lock(&u->lock);
	while (u->reported < n)
		pthread_cond_wait(&u->cond, &u->lock);
	err = u->setup_err;
	pthread_mutex_unlock(&u->lock);
	if (!err)
		return u;
	ovl_dbg(ofs, "io_uring: %s; requests go through /dev/fuse",
		strerror(-err));
	ovl_uring_destroy(u);
	return NULL;
fail:
	if (u)
		free(u->queues);
	free(u);
	return NULL;
}

/**
 * ovl_uring_prepare - allocate every queue's entries for the INIT reply
 * @u: the rings
 * @max_write: max_write of the INIT reply
 * @max_pages: max_pages of the INIT reply
 *
 * Once the INIT reply sets FUSE_OVER_IO_URING the kernel holds every
 * request until each queue has registered an entry, so nothing that can
 * fail may be left for later: the buffers, sized like the kernel's
 * max_payload_sz (max_write, and at least max_pages pages, at least
 * 32), are allocated here, before the reply. On failure the reply must
 * not ask for io_uring.
 *
 * Context: the thread answering the INIT, before ovl_uring_start().
 * Return: 0 or -errno (nothing left allocated).
 */
int ovl_uring_prepare(struct ovl_uring *u, uint32_t max_write,
		      uint16_t max_pages)
{
	/* The kernel's pages: 16 or 64 KiB on some arm64 and ppc64. */
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	size_t payload = (size_t)(max_pages > 32 ? max_pages : 32) * page;
	unsigned int i;
	int r = 0;

	if (payload < max_write)
		payload = max_write;
	u->payload = (payload + page - 1) & ~(page - 1);
	for (i = 0; i < u->nr_queues && r == 0; i++)
		r = ovl_uring_ents_init(&u->queues[i]);
	if (r < 0) {
		ovl_log(LOG_WARNING,
			"io_uring: %s; requests go through /dev/fuse",
			strerror(-r));
		for (i = 0; i < u->nr_queues; i++)
			ovl_uring_ents_free(&u->queues[i]);
	}
	return r;
}

/**
 * ovl_uring_start - register the ring entries
 * @u: the rings, or NULL
 *
 * Called once the INIT reply that set FUSE_OVER_IO_URING is written
 * (after ovl_uring_prepare()): the kernel holds requests until every
 * queue has an entry.
 */
void ovl_uring_start(struct ovl_uring *u)
{
	if (!u)
		return;
	pthread_mutex_lock(&u->lock);
	u->state = 1;
	__atomic_store_n(&u->active, true, __ATOMIC_RELEASE);
	pthread_cond_broadcast(&u->cond);
	pthread_mutex_unlock(&u->lock);
}

/**
 * ovl_uring_active - are requests delivered through io_uring?
 * @u: the rings, or NULL
 *
 * Return: true after ovl_uring_start(), until a queue's registration
 * is refused (then the kernel takes requests through /dev/fuse).
 */
bool ovl_uring_active(struct ovl_uring *u)
{
	return u && __atomic_load_n(&u->active, __ATOMIC_ACQUIRE);
}

/**
 * ovl_uring_stop - stop the queue threads
 * @u: the rings, or NULL
 *
 * No request is handed out afterwards; entries that workers still
 * answer stay valid until ovl_uring_destroy().
 */
void ovl_uring_stop(struct ovl_uring *u)
{
	uint64_t one = 1;
	unsigned int i;

	if (!u)
		return;
	pthread_mutex_lock(&u->lock);
	if (u->state == 2) { /* stopped already */
		pthread_mutex_unlock(&u->lock);
		return;
	}
	u->state = 2;
	pthread_cond_broadcast(&u->cond);
	pthread_mutex_unlock(&u->lock);
	for (i = 0; i < u->nr_queues; i++) {
		struct ovl_uring_queue *q = &u->queues[i];

		if (q->efd >= 0 && write(q->efd, &one, sizeof(one)) < 0)
			ovl_log(LOG_ERR, "io_uring queue %u: cannot stop: %s",
				i, strerror(errno));
		if (q->started)
			pthread_join(q->tid, NULL);
		q->started = false;
	}
}

/**
 * ovl_uring_destroy - stop the queue threads and free the rings
 * @u: the rings, or NULL
 *
 * Context: after the workers are joined, so no entry is out.
 */
void ovl_uring_destroy(struct ovl_uring *u)
{
	unsigned int i;

	if (!u)
		return;
	ovl_uring_stop(u);
	for (i = 0; i < u->nr_queues; i++) {
		struct ovl_uring_queue *q = &u->queues[i];

		/* Closing the ring cancels what the kernel still holds. */
		ovl_ring_free(&q->ring);
		ovl_uring_ents_free(q);
		if (q->efd >= 0)
			close(q->efd);
		if (q->loadavg_fd >= 0)
			close(q->loadavg_fd);
		pthread_mutex_destroy(&q->lock);
	}
	pthread_cond_destroy(&u->cond);
	pthread_mutex_destroy(&u->lock);
	free(u->queues);
	free(u);
}

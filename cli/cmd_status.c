/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * errovlctl status: the error state of a mount (live, through
 * ERROVL_IOC_STATUS) or of a workdir (from the checkpoint the last
 * volatile session wrote, no daemon needed). Both are turned into one
 * struct cmd_status_view and printed human-readable or as JSON.
 *
 * Verdicts: "clean" (exit 0), "inconsistent" (an upper error was
 * recorded; exit 1), "unknown" (a checkpoint of a session that is
 * still mounted or ended abnormally; exit 1: it cannot be proven clean).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "errovl/control.h"
#include "errovlctl.h"
#include "volatile.h"

struct cmd_status_view {
	const char *source; /* "mount" or "checkpoint" */
	const char *path;
	const char *verdict; /* clean, inconsistent, unknown */
	const char *mode; /* volatile, non-volatile */
	const char *state; /* mounted, clean, failed */
	const char *io; /* live mounts: how file data moves, else NULL */
	const char *requests; /* live mounts: how requests arrive, else NULL */
	int error; /* errno fsync returns (live volatile), 0 */
	uint32_t error_count;
	int first_errno, last_errno;
	uint64_t first_error_ns, last_error_ns, mount_time_ns;
	uint32_t pid;
	int marker; /* 1 present, 0 absent, -1 not applicable */
};

/* The errno of the verdict: what fsync returns, or the latest error. */
static int cmd_status_errno(const struct cmd_status_view *v)
{
	if (v->error)
		return v->error;
	return strcmp(v->verdict, "inconsistent") ? 0 : v->last_errno;
}

static void cmd_status_print(const struct cmd_status_view *v)
{
	int e = cmd_status_errno(v);
	char t[32];

	printf("%s: %s", v->path, v->verdict);
	if (e)
		printf(": %s (%s)", ctl_errname(e), strerror(e));
	putchar('\n');
	printf("  mode:         %s\n", v->mode);
	printf("  state:        %s\n", v->state);
	if (v->io)
		printf("  file I/O:     %s\n", v->io);
	if (v->requests)
		printf("  requests:     %s\n", v->requests);
	printf("  errors:       %" PRIu32 "\n", v->error_count);
	if (v->first_errno) {
		printf("  first error:  %s (%s) at %s\n",
		       ctl_errname(v->first_errno), strerror(v->first_errno),
		       ctl_time(v->first_error_ns, t, sizeof(t)));
		printf("  last error:   %s (%s) at %s\n",
		       ctl_errname(v->last_errno), strerror(v->last_errno),
		       ctl_time(v->last_error_ns, t, sizeof(t)));
	}
	if (v->error)
		printf("  fsync:        fails with %s on every call until "
		       "unmount\n",
		       ctl_errname(v->error));
	printf("  mounted at:   %s (pid %" PRIu32 ")\n",
	       ctl_time(v->mount_time_ns, t, sizeof(t)), v->pid);
	if (!strcmp(v->verdict, "unknown"))
		printf("  note:         the session is still mounted, or it "
		       "was killed or crashed;\n"
		       "                for a live mount run 'errovlctl status "
		       "MOUNTPOINT'\n");
	if (v->marker >= 0)
		printf("  marker:       %s\n",
		       v->marker ? "present (work/incompat/volatile/dirty)"
				 : "absent");
}

static void cmd_status_json_err(const char *key, int err, uint64_t ns)
{
	char t[32];

	printf(",\"%s\":", key);
	if (!err) {
		fputs("null", stdout);
		return;
	}
	printf("{\"errno\":\"%s\",\"code\":%d,\"message\":", ctl_errname(err),
	       err);
	ctl_json_str(stdout, strerror(err));
	printf(",\"time\":\"%s\",\"time_ns\":%" PRIu64 "}",
	       ctl_time(ns, t, sizeof(t)), ns);
}

static void cmd_status_json(const struct cmd_status_view *v)
{
	int e = cmd_status_errno(v);
	char t[32];

	printf("{\"source\":\"%s\",\"path\":", v->source);
	ctl_json_str(stdout, v->path);
	printf(",\"status\":\"%s\",\"mode\":\"%s\",\"state\":\"%s\"",
	       v->verdict, v->mode, v->state);
	if (e) {
		printf(",\"errno\":\"%s\",\"message\":", ctl_errname(e));
		ctl_json_str(stdout, strerror(e));
	} else {
		fputs(",\"errno\":null,\"message\":null", stdout);
	}
	if (v->io)
		printf(",\"io\":\"%s\"", v->io);
	if (v->requests)
		printf(",\"requests\":\"%s\"", v->requests);
	printf(",\"error_count\":%" PRIu32, v->error_count);
	cmd_status_json_err("first_error", v->first_errno, v->first_error_ns);
	cmd_status_json_err("last_error", v->last_errno, v->last_error_ns);
	printf(",\"pid\":%" PRIu32 ",\"mount_time\":\"%s\"", v->pid,
	       ctl_time(v->mount_time_ns, t, sizeof(t)));
	if (v->marker >= 0)
		printf(",\"marker\":%s", v->marker ? "true" : "false");
	fputs("}\n", stdout);
}

static int cmd_status_emit(const struct cmd_status_view *v, bool json)
{
	if (json)
		cmd_status_json(v);
	else
		cmd_status_print(v);
	return strcmp(v->verdict, "clean") ? CTL_EXIT_FAIL : CTL_EXIT_OK;
}

static int cmd_status_live(const char *path, bool json)
{
	struct errovl_status st = {.version = ERROVL_STATUS_VERSION};
	struct cmd_status_view v = {.source = "mount", .path = path};
	char what[4200];
	int fd, r;

	if (ctl_open_mount(path, &fd) < 0)
		return CTL_EXIT_FAIL;
	r = ioctl(fd, ERROVL_IOC_STATUS, &st) < 0 ? -errno : 0;
	close(fd);
	if (r < 0) {
		snprintf(what, sizeof(what), "%s%s", path,
			 r == -ENOTTY ? ": not an errovl mount" : "");
		ctl_err(what, r);
		return CTL_EXIT_FAIL;
	}
	if (st.version != ERROVL_STATUS_VERSION) {
		snprintf(what, sizeof(what),
			 "%s: unknown status version %" PRIu32, path,
			 (uint32_t)st.version);
		ctl_err(what, EPROTO);
		return CTL_EXIT_FAIL;
	}
	v.verdict = st.state == ERROVL_STATE_CLEAN ? "clean" : "inconsistent";
	v.mode =
		st.flags & ERROVL_STATUS_VOLATILE ? "volatile" : "non-volatile";
	v.state = "mounted";
	v.requests = st.flags & ERROVL_STATUS_URING ? "io_uring" : "/dev/fuse";
	v.io = st.flags & ERROVL_STATUS_PASSTHROUGH ? "passthrough"
	       : st.flags & ERROVL_STATUS_WRITEBACK ? "writeback cache"
						    : "write-through";
	v.error = st.error;
	v.error_count = st.error_count;
	v.first_errno = st.first_errno;
	v.last_errno = st.last_errno;
	v.first_error_ns = st.first_error_ns;
	v.last_error_ns = st.last_error_ns;
	v.mount_time_ns = st.mount_time_ns;
	v.pid = st.pid;
	v.marker = -1;
	return cmd_status_emit(&v, json);
}

static int cmd_status_workdir(const char *workdir, bool json)
{
	struct cmd_status_view v = {.source = "checkpoint", .path = workdir};
	char what[4200];
	struct ovl_ckpt ck;
	struct stat st;
	int wfd, sfd, r;

	memset(&ck, 0, sizeof(ck));
	wfd = open(workdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (wfd < 0) {
		ctl_err(workdir, -errno);
		return CTL_EXIT_FAIL;
	}
	sfd = openat(wfd, "errovl", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	r = sfd < 0 ? -errno : ovl_ckpt_load(sfd, &ck);
	if (sfd >= 0)
		close(sfd);
	v.marker = fstatat(wfd,
			   "work/" OVL_MARKER_DIR1 "/" OVL_MARKER_DIR2
			   "/" OVL_MARKER_FILE,
			   &st, AT_SYMLINK_NOFOLLOW) == 0;
	close(wfd);
	if (r < 0) {
		snprintf(what, sizeof(what), "%s/errovl/" OVL_CKPT_NAME "%s",
			 workdir, r == -EINVAL ? ": corrupt checkpoint" : "");
		ctl_err(what, r);
		if (json) {
			printf("{\"source\":\"checkpoint\",\"path\":");
			ctl_json_str(stdout, workdir);
			printf(",\"status\":\"unknown\",\"checkpoint\":\"%s\","
			       "\"marker\":%s}\n",
			       r == -ENOENT   ? "missing"
			       : r == -EINVAL ? "corrupt"
					      : "unreadable",
			       v.marker ? "true" : "false");
		}
		return CTL_EXIT_FAIL;
	}
	v.state = ovl_ckpt_state_name(ck.state);
	v.verdict = ck.state == OVL_CKPT_CLEAN	  ? "clean"
		    : ck.state == OVL_CKPT_FAILED ? "inconsistent"
						  : "unknown";
	v.mode = "volatile";
	v.error_count = ck.error_count;
	v.first_errno = ck.first_errno;
	v.last_errno = ck.last_errno;
	v.first_error_ns = ck.first_error_ns;
	v.last_error_ns = ck.last_error_ns;
	v.mount_time_ns = ck.mount_time_ns;
	v.pid = ck.pid;
	return cmd_status_emit(&v, json);
}

/**
 * cmd_status - errovlctl status [--json] MOUNTPOINT | --workdir WORKDIR
 * @argc: argument count, argv[0] is "status"
 * @argv: arguments
 *
 * Return: CTL_EXIT_OK when clean, CTL_EXIT_FAIL when inconsistent,
 * unknown or on error, CTL_EXIT_USAGE for a bad command line.
 */
int cmd_status(int argc, char **argv)
{
	const char *workdir = NULL, *mnt = NULL;
	bool json = false;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--json")) {
			json = true;
		} else if (!strcmp(argv[i], "--workdir")) {
			if (++i >= argc)
				return ctl_usage("--workdir needs a directory");
			if (workdir)
				return ctl_usage("--workdir given twice");
			workdir = argv[i];
		} else if (argv[i][0] == '-') {
			return ctl_usage("unknown option '%s'", argv[i]);
		} else if (mnt) {
			return ctl_usage("status takes one MOUNTPOINT");
		} else {
			mnt = argv[i];
		}
	}
	if (!!workdir == !!mnt)
		return ctl_usage("usage: errovlctl status [--json] "
				 "MOUNTPOINT | --workdir WORKDIR");
	return workdir ? cmd_status_workdir(workdir, json)
		       : cmd_status_live(mnt, json);
}

// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * nosys - run a command with some system calls failing with ENOSYS
 *
 * Usage: nosys [-e ERRNO] NR[,NR...] COMMAND [ARG...]
 *
 * The filesystem tests run the daemon through it as if on a kernel
 * that predates those calls (fchmodat2: Linux 6.6; getxattrat and
 * listxattrat: 6.13), so that the fallbacks the daemon keeps for older
 * kernels run too. A seccomp filter answers the listed numbers with
 * ENOSYS and lets every other call through; the command inherits it.
 * -e answers another errno instead (a number), as container runtimes'
 * profiles do for calls they do not know (EPERM, 1).
 */
#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#if defined(__x86_64__)
#define NOSYS_ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define NOSYS_ARCH AUDIT_ARCH_AARCH64
#else
#error "nosys: add this architecture's AUDIT_ARCH_* value"
#endif

#define NOSYS_MAX 32

static int usage(void)
{
	fprintf(stderr,
		"usage: nosys [-e ERRNO] NR[,NR...] COMMAND [ARG...]\n");
	return 2;
}

int main(int argc, char **argv)
{
	/* arch check (3), load nr, 2 per call, allow */
	struct sock_filter f[4 + 2 * NOSYS_MAX + 1];
	struct sock_fprog prog;
	unsigned int n = 0, nr_calls = 0;
	unsigned long err = ENOSYS;
	char *s, *end;

	if (argc > 2 && !strcmp(argv[1], "-e")) {
		err = strtoul(argv[2], &end, 10);
		if (end == argv[2] || *end || !err || err > 4095)
			return usage();
		argc -= 2;
		argv += 2;
	}
	if (argc < 3)
		return usage();
	/* Another architecture (a 32-bit call): let it through. */
	f[n++] = (struct sock_filter)BPF_STMT(
		BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch));
	f[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K,
					      NOSYS_ARCH, 1, 0);
	f[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K,
					      SECCOMP_RET_ALLOW);
	f[n++] = (struct sock_filter)BPF_STMT(
		BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr));
	for (s = argv[1]; *s; s = *end ? end + 1 : end) {
		unsigned long nr = strtoul(s, &end, 10);

		if (end == s || (*end && *end != ',') || nr_calls == NOSYS_MAX)
			return usage();
		nr_calls++;
		f[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K,
						      (unsigned int)nr, 0, 1);
		f[n++] = (struct sock_filter)BPF_STMT(
			BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (unsigned int)err);
	}
	f[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K,
					      SECCOMP_RET_ALLOW);
	prog.len = (unsigned short)n;
	prog.filter = f;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ||
	    prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) < 0) {
		fprintf(stderr, "nosys: cannot install the filter: %s\n",
			strerror(errno));
		return 1;
	}
	execvp(argv[2], argv + 2);
	fprintf(stderr, "nosys: %s: %s\n", argv[2], strerror(errno));
	return 127;
}

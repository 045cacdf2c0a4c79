// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Mount option parsing: turns "-o" strings into a validated struct
 * ovl_config. No I/O happens in ovl_params_parse(), so it is a pure
 * function over its input and the libFuzzer target fuzz_params drives
 * it directly; ovl_params_validate() resolves and checks the paths.
 *
 * Option names follow kernel overlayfs (lowerdir, upperdir, workdir,
 * userxattr, volatile, redirect_dir=, index=off, metacopy=off, ...),
 * plus the spellings fuse-overlayfs users pass as a mount_program
 * (fsync=0, writeback=, threaded=, timeout=, noacl), and errovl's own
 * (passthrough=, spin=, test_faults, ...). Generic mount flags and
 * libfuse options are collected, unchanged, into cfg->fuse_opts. Every
 * other name is an error that names it: an option is never dropped
 * silently.
 *
 * Escapes: like the kernel, a backslash protects the next character
 * from splitting, so "\," stays inside a value and "\:" inside one
 * lowerdir; the backslashes are removed from path values afterwards.
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <linux/mount.h>

#include "params.h"

#define OVL_DEFAULT_HARVEST_MS 5000u
#define OVL_DEFAULT_TIMEOUT 3600.0
#define OVL_DEFAULT_SPIN_US 50u
#define OVL_DEFAULT_READAHEAD_KIB 1024u
#define OVL_MAX_READAHEAD_KIB 65536u

/* Options libfuse or mount(8) understand, handed to libfuse as they are. */
static const char *const ovl_params_fuse_flags[] = {
	"allow_other", "allow_root",   "default_permissions",
	"rw",	       "ro",	       "suid",
	"nosuid",      "dev",	       "nodev",
	"exec",	       "noexec",       "async",
	"sync",	       "dirsync",      "atime",
	"noatime",     "auto_unmount", NULL,
};

/* Options that take a value and go to libfuse. */
static const char *const ovl_params_fuse_values[] = {
	"fsname=",
	"subtype=",
	NULL,
};

/* mount(8)/fstab control options that are not filesystem options. */
static const char *const ovl_params_mount_only[] = {
	"defaults", "auto",   "noauto", "nofail", "_netdev", "user",
	"users",    "nouser", "owner",	"group",  "loop",    NULL,
};

/* Options NAME=0|1 and the field each sets (fsync=0 means volatile). */
struct ovl_params_flag {
	const char *name;
	size_t offset;
	bool inverted;
};

static const struct ovl_params_flag ovl_params_bools[] = {
	{"fsync", offsetof(struct ovl_config, ovl_volatile), true},
	{"writeback", offsetof(struct ovl_config, writeback), false},
	{"threaded", offsetof(struct ovl_config, threaded), false},
	{"passthrough", offsetof(struct ovl_config, passthrough), false},
	{"uring", offsetof(struct ovl_config, uring), false},
};

/* fuse-overlayfs features errovl does not implement (yet). */
static const char *const ovl_params_unsupported[] = {
	"plugins", "static_nlink", "noxattrs", "xattr_permissions",
	"ino32_t", "fast_ino",	   NULL,
};

static int ovl_params_err(char **ret_err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int ovl_params_err(char **ret_err, const char *fmt, ...)
{
	va_list ap;
	char *s = NULL;

	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		s = NULL;
	va_end(ap);
	if (ret_err) {
		free(*ret_err);
		*ret_err = s;
	} else {
		free(s);
	}
	return -EINVAL;
}

/* A decimal number from 0 to @max, nothing else, into @ret. */
static int ovl_params_uint(const char *v, unsigned long max, unsigned int *ret)
{
	unsigned long n;
	char *end;

	errno = 0;
	n = strtoul(v, &end, 10);
	if (!*v || *end || errno || *v == '-' || n > max)
		return -EINVAL;
	*ret = (unsigned int)n;
	return 0;
}

/**
 * ovl_config_init - set the defaults of every option
 * @cfg: configuration to initialise
 */
void ovl_config_init(struct ovl_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->harvest_interval_ms = OVL_DEFAULT_HARVEST_MS;
	cfg->writeback = true;
	cfg->passthrough = true;
	cfg->threaded = true;
	cfg->uring = true;
	cfg->xino = true;
	cfg->redirect = OVL_REDIRECT_OFF;
	cfg->timeout = OVL_DEFAULT_TIMEOUT;
	cfg->spin_us = OVL_DEFAULT_SPIN_US;
	cfg->readahead_kib = OVL_DEFAULT_READAHEAD_KIB;
	cfg->uidmap.overflow = 65534;
	cfg->gidmap.overflow = 65534;
}

/**
 * ovl_params_free_strv - free a NULL-terminated string array
 * @v: array from ovl_params_split_lowerdir(), or NULL
 */
void ovl_params_free_strv(char **v)
{
	if (!v)
		return;
	for (char **p = v; *p; p++)
		free(*p);
	free(v);
}

/**
 * ovl_config_done - release everything ovl_params_parse() allocated
 * @cfg: configuration; reset to the defaults afterwards
 */
void ovl_config_done(struct ovl_config *cfg)
{
	ovl_params_free_strv(cfg->lowerdirs);
	free(cfg->upperdir);
	free(cfg->workdir);
	free(cfg->mountpoint);
	free(cfg->fuse_opts);
	ovl_config_init(cfg);
}

/* Copies @s[0..@len) removing the backslash of every escape pair. */
static char *ovl_params_unescape(const char *s, size_t len)
{
	char *out = malloc(len + 1), *o = out;

	if (!out)
		return NULL;
	for (size_t i = 0; i < len; i++) {
		if (s[i] == '\\' && i + 1 < len)
			i++;
		*o++ = s[i];
	}
	*o = '\0';
	return out;
}

/**
 * ovl_params_split_lowerdir - split a lowerdir value into layer paths
 * @val: the value after "lowerdir=", escapes still in place
 * @ret: NULL-terminated array of unescaped paths, top-most first
 * @ret_n: number of entries
 *
 * Return: 0, -EINVAL for an empty value or component, -E2BIG for more
 * than OVL_MAX_STACK layers, -ENOMEM.
 */
int ovl_params_split_lowerdir(const char *val, char ***ret, unsigned int *ret_n)
{
	size_t len = strlen(val), start = 0, n = 0;
	char **v;

	if (!len)
		return -EINVAL;
	/* Count components first: at most one per unescaped ':' plus one. */
	for (size_t i = 0; i < len; i++) {
		if (val[i] == '\\' && i + 1 < len)
			i++;
		else if (val[i] == ':')
			n++;
	}
	n++;
	if (n > OVL_MAX_STACK)
		return -E2BIG;
	v = calloc(n + 1, sizeof(*v));
	if (!v)
		return -ENOMEM;
	n = 0;
	for (size_t i = 0; i <= len; i++) {
		if (i < len && val[i] == '\\' && i + 1 < len) {
			i++;
			continue;
		}
		if (i < len && val[i] != ':')
			continue;
		if (i == start) {
			ovl_params_free_strv(v);
			return -EINVAL;
		}
		v[n] = ovl_params_unescape(val + start, i - start);
		if (!v[n]) {
			ovl_params_free_strv(v);
			return -ENOMEM;
		}
		n++;
		start = i + 1;
	}
	*ret = v;
	*ret_n = (unsigned int)n;
	return 0;
}

static bool ovl_params_in(const char *const *list, const char *opt)
{
	for (; *list; list++)
		if (!strcmp(*list, opt))
			return true;
	return false;
}

static bool ovl_params_prefix_in(const char *const *list, const char *opt)
{
	for (; *list; list++)
		if (!strncmp(*list, opt, strlen(*list)))
			return true;
	return false;
}

static int ovl_params_add_fuse(struct ovl_config *cfg, const char *opt)
{
	char *s;

	if (cfg->fuse_opts) {
		if (asprintf(&s, "%s,%s", cfg->fuse_opts, opt) < 0)
			return -ENOMEM;
	} else {
		s = strdup(opt);
		if (!s)
			return -ENOMEM;
	}
	free(cfg->fuse_opts);
	cfg->fuse_opts = s;
	return 0;
}

/*
 * The atime options libfuse does not know, applied to the mount with
 * mount_setattr() after mounting. Returns true when @opt is one.
 */
static bool ovl_params_atime(struct ovl_config *cfg, const char *opt)
{
	if (!strcmp(opt, "relatime") || !strcmp(opt, "nostrictatime")) {
		cfg->mnt_attr_clr |= MOUNT_ATTR__ATIME;
		cfg->mnt_attr_set = (cfg->mnt_attr_set & ~MOUNT_ATTR__ATIME) |
				    MOUNT_ATTR_RELATIME;
	} else if (!strcmp(opt, "strictatime") || !strcmp(opt, "norelatime")) {
		cfg->mnt_attr_clr |= MOUNT_ATTR__ATIME;
		cfg->mnt_attr_set = (cfg->mnt_attr_set & ~MOUNT_ATTR__ATIME) |
				    MOUNT_ATTR_STRICTATIME;
	} else if (!strcmp(opt, "nodiratime")) {
		cfg->mnt_attr_set |= MOUNT_ATTR_NODIRATIME;
		cfg->mnt_attr_clr &= ~MOUNT_ATTR_NODIRATIME;
	} else if (!strcmp(opt, "diratime")) {
		cfg->mnt_attr_clr |= MOUNT_ATTR_NODIRATIME;
		cfg->mnt_attr_set &= ~MOUNT_ATTR_NODIRATIME;
	} else {
		return false;
	}
	return true;
}

/* Parses a 0/1 (also off/on, false/true, no/yes) value. */
static int ovl_params_bool(const char *v, bool *ret)
{
	if (!strcmp(v, "1") || !strcmp(v, "on") || !strcmp(v, "true") ||
	    !strcmp(v, "yes")) {
		*ret = true;
		return 0;
	}
	if (!strcmp(v, "0") || !strcmp(v, "off") || !strcmp(v, "false") ||
	    !strcmp(v, "no")) {
		*ret = false;
		return 0;
	}
	return -EINVAL;
}

static int ovl_params_path(char **dst, const char *name, const char *v,
			   char **ret_err)
{
	char *p;

	if (!*v)
		return ovl_params_err(ret_err, "empty %s", name);
	p = ovl_params_unescape(v, strlen(v));
	if (!p)
		return -ENOMEM;
	free(*dst);
	*dst = p;
	return 0;
}

/* Parses a decimal id in [0, 2^32 - 2] ((uid_t)-1 means "no change"). */
static int ovl_params_id(const char *v, const char **end, uint32_t *ret)
{
	char *e;
	unsigned long long n;

	if (*v < '0' || *v > '9')
		return -EINVAL;
	errno = 0;
	n = strtoull(v, &e, 10);
	if (errno || n >= UINT32_MAX)
		return -EINVAL;
	*end = e;
	*ret = (uint32_t)n;
	return 0;
}

/**
 * ovl_params_idmap - parse a uidmapping=/gidmapping= value
 * @m: the map; its ranges are replaced
 * @val: "DISK:SHOWN:LEN[:DISK:SHOWN:LEN...]", fuse-overlayfs' syntax
 *
 * Return: 0, or -EINVAL (syntax, a zero length, a range past 2^32 - 1,
 * more than OVL_MAX_IDMAP ranges); @m is unchanged then.
 */
int ovl_params_idmap(struct ovl_idmap *m, const char *val)
{
	struct ovl_idmap_range r[OVL_MAX_IDMAP];
	const char *p = val;
	unsigned int n = 0;
	uint32_t f[3];

	for (;;) {
		for (int i = 0; i < 3; i++) {
			if (ovl_params_id(p, &p, &f[i]) < 0)
				return -EINVAL;
			if (i < 2 && *p++ != ':')
				return -EINVAL;
		}
		if (!f[2] || n == OVL_MAX_IDMAP ||
		    (uint64_t)f[0] + f[2] > UINT32_MAX ||
		    (uint64_t)f[1] + f[2] > UINT32_MAX)
			return -EINVAL;
		r[n].disk = f[0];
		r[n].shown = f[1];
		r[n].len = f[2];
		n++;
		if (!*p)
			break;
		if (*p++ != ':')
			return -EINVAL;
	}
	memcpy(m->r, r, n * sizeof(r[0]));
	m->nr = n;
	return 0;
}

/* redirect_dir=on|follow|off|nofollow */
static int ovl_params_redirect(struct ovl_config *cfg, const char *v,
			       char **ret_err)
{
	static const char *const names[] = {
		[OVL_REDIRECT_NOFOLLOW] = "nofollow",
		[OVL_REDIRECT_OFF] = "off",
		[OVL_REDIRECT_FOLLOW] = "follow",
		[OVL_REDIRECT_ON] = "on",
	};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (!strcmp(v, names[i])) {
			cfg->redirect = (enum ovl_redirect_mode)i;
			cfg->redirect_set = true;
			return 0;
		}
	}
	return ovl_params_err(ret_err,
			      "bad value for redirect_dir: '%s' (on, follow, "
			      "off or nofollow)",
			      v);
}

/* uidmapping=, gidmapping=, squash_to_uid=, squash_to_gid=, squash_to_root */
static int ovl_params_ids(struct ovl_config *cfg, const char *opt,
			  const char *v, char **ret_err)
{
	bool uid = strstr(opt, "uid") != NULL;
	struct ovl_idmap *m = uid ? &cfg->uidmap : &cfg->gidmap;
	const char *end;

	if (!strcmp(opt, "squash_to_root")) {
		if (v)
			return ovl_params_err(ret_err,
					      "squash_to_root takes no value");
		/* An explicit squash_to_uid/gid wins, in any order. */
		if (!cfg->uidmap.squash)
			cfg->uidmap.squash_id = 0;
		if (!cfg->gidmap.squash)
			cfg->gidmap.squash_id = 0;
		cfg->uidmap.squash = cfg->gidmap.squash = true;
	} else if (!v) {
		return ovl_params_err(ret_err, "%s needs a value", opt);
	} else if (!strncmp(opt, "squash", 6)) {
		if (ovl_params_id(v, &end, &m->squash_id) < 0 || *end)
			return ovl_params_err(ret_err, "bad %s '%s'", opt, v);
		m->squash = true;
	} else if (ovl_params_idmap(m, v) < 0) {
		return ovl_params_err(ret_err,
				      "bad %s '%s' (want DISK:SHOWN:LEN, "
				      "several separated by ':')",
				      opt, v);
	}
	cfg->idmapped = true;
	return 0;
}

/* Handles one option "name" or "name=value"; @opt is NUL-terminated. */
static int ovl_params_one(struct ovl_config *cfg, char *opt, char **ret_err)
{
	char *eq = strchr(opt, '=');
	const char *v = eq ? eq + 1 : NULL;
	bool b;
	int r;

	if (eq)
		*eq = '\0';
	if (!strcmp(opt, "lowerdir") && v) {
		char **dirs;
		unsigned int n;

		r = ovl_params_split_lowerdir(v, &dirs, &n);
		if (r == -E2BIG)
			return ovl_params_err(ret_err,
					      "too many lower layers (max %d)",
					      OVL_MAX_STACK);
		if (r == -EINVAL)
			return ovl_params_err(ret_err,
					      "empty lowerdir or empty layer "
					      "in lowerdir");
		if (r < 0)
			return r;
		ovl_params_free_strv(cfg->lowerdirs);
		cfg->lowerdirs = dirs;
		cfg->nr_lower = n;
		return 0;
	}
	if (!strcmp(opt, "upperdir") && v)
		return ovl_params_path(&cfg->upperdir, "upperdir", v, ret_err);
	if (!strcmp(opt, "workdir") && v)
		return ovl_params_path(&cfg->workdir, "workdir", v, ret_err);
	if (!strcmp(opt, "volatile") && !v) {
		cfg->ovl_volatile = true;
		return 0;
	}
	if (!strcmp(opt, "volatile_discard") && !v) {
		cfg->volatile_discard = true;
		return 0;
	}
	if (!strcmp(opt, "test_faults") && !v) {
		cfg->test_faults = true;
		return 0;
	}
	if (!strcmp(opt, "userxattr") && !v) {
		cfg->userxattr = true;
		return 0;
	}
	if (!strcmp(opt, "noacl") && !v) {
		cfg->noacl = true;
		return 0;
	}
	if (!strcmp(opt, "harvest_interval") && v) {
		unsigned int sec;

		if (ovl_params_uint(v, UINT_MAX / 1000, &sec) < 0)
			return ovl_params_err(ret_err,
					      "bad harvest_interval '%s'", v);
		cfg->harvest_interval_ms = sec * 1000u;
		return 0;
	}
	if (!strcmp(opt, "spin") && v) {
		if (ovl_params_uint(v, 1000000, &cfg->spin_us) < 0)
			return ovl_params_err(ret_err,
					      "bad spin '%s' (microseconds, "
					      "0 to 1000000)",
					      v);
		return 0;
	}
	if (!strcmp(opt, "readahead") && v) {
		if (ovl_params_uint(v, OVL_MAX_READAHEAD_KIB,
				    &cfg->readahead_kib) < 0)
			return ovl_params_err(ret_err,
					      "bad readahead '%s' (KiB, 0 to "
					      "%u)",
					      v, OVL_MAX_READAHEAD_KIB);
		cfg->readahead_set = true;
		return 0;
	}
	if (!strcmp(opt, "timeout") && v) {
		char *end;
		double t;

		errno = 0;
		t = strtod(v, &end);
		if (!*v || *end || errno || !(t >= 0 && t <= 86400))
			return ovl_params_err(ret_err, "bad timeout '%s'", v);
		cfg->timeout = t;
		return 0;
	}
	for (size_t i = 0;
	     v && i < sizeof(ovl_params_bools) / sizeof(ovl_params_bools[0]);
	     i++) {
		const struct ovl_params_flag *f = &ovl_params_bools[i];

		if (strcmp(opt, f->name))
			continue;
		if (ovl_params_bool(v, &b) < 0)
			return ovl_params_err(ret_err, "bad value for %s: '%s'",
					      opt, v);
		*(bool *)((char *)cfg + f->offset) = b != f->inverted;
		return 0;
	}
	if (!strcmp(opt, "uidmapping") || !strcmp(opt, "gidmapping") ||
	    !strcmp(opt, "squash_to_root") || !strcmp(opt, "squash_to_uid") ||
	    !strcmp(opt, "squash_to_gid"))
		return ovl_params_ids(cfg, opt, v, ret_err);
	if (!strcmp(opt, "xino") && v) {
		if (strcmp(v, "off") && strcmp(v, "auto") && strcmp(v, "on"))
			return ovl_params_err(ret_err,
					      "bad value for xino: '%s'", v);
		cfg->xino = strcmp(v, "off") != 0;
		return 0;
	}
	if (!strcmp(opt, "redirect_dir") && v)
		return ovl_params_redirect(cfg, v, ret_err);
	/* Kernel features errovl does not have: only "off" is accepted. */
	if ((!strcmp(opt, "index") || !strcmp(opt, "metacopy") ||
	     !strcmp(opt, "nfs_export") || !strcmp(opt, "uuid")) &&
	    v) {
		if (strcmp(v, "off") && !(opt[0] == 'u' && !strcmp(v, "null")))
			return ovl_params_err(ret_err,
					      "option %s=%s is not supported "
					      "(only %s=off)",
					      opt, v, opt);
		return 0;
	}
	if (!v && ovl_params_atime(cfg, opt))
		return 0;
	if (!strcmp(opt, "max_read") && v) {
		if (ovl_params_uint(v, UINT_MAX, &cfg->max_read) < 0 ||
		    !cfg->max_read)
			return ovl_params_err(ret_err, "bad max_read '%s'", v);
		*eq = '=';
		return ovl_params_add_fuse(cfg, opt);
	}
	if (ovl_params_in(ovl_params_unsupported, opt))
		return ovl_params_err(
			ret_err, "option '%s' is not supported by errovl", opt);
	if (ovl_params_in(ovl_params_mount_only, opt) && !v)
		return 0;
	if (!strncmp(opt, "x-", 2) || !strncmp(opt, "comment=", 8))
		return 0; /* userspace mount(8) annotations */
	if (!v && ovl_params_in(ovl_params_fuse_flags, opt))
		return ovl_params_add_fuse(cfg, opt);
	if (v) {
		*eq = '=';
		if (ovl_params_prefix_in(ovl_params_fuse_values, opt) && *v)
			return ovl_params_add_fuse(cfg, opt);
		*eq = '\0';
	}
	return ovl_params_err(ret_err, "unknown option '%s'", opt);
}

/**
 * ovl_params_parse - apply a comma-separated option string
 * @cfg: configuration, initialised with ovl_config_init()
 * @opts: the option string of one "-o" (may be called repeatedly)
 * @ret_err: on -EINVAL, a malloc'd message naming the bad option
 *
 * A backslash protects the next character from the comma split.
 * Later options override earlier ones, as with mount(8).
 *
 * Return: 0, -EINVAL (message in *@ret_err) or -ENOMEM.
 */
int ovl_params_parse(struct ovl_config *cfg, const char *opts, char **ret_err)
{
	size_t len = strlen(opts), start = 0;
	int r = 0;

	for (size_t i = 0; i <= len && r == 0; i++) {
		if (i < len && opts[i] == '\\' && i + 1 < len) {
			i++;
			continue;
		}
		if (i < len && opts[i] != ',')
			continue;
		if (i > start) {
			char *opt = strndup(opts + start, i - start);

			if (!opt)
				return -ENOMEM;
			r = ovl_params_one(cfg, opt, ret_err);
			free(opt);
		}
		start = i + 1;
	}
	return r;
}

/* Resolves @path against the cwd like the kernel (symlinks followed). */
static int ovl_params_resolve(char **path, const char *what, char **ret_err)
{
	struct stat st;
	char *abs = realpath(*path, NULL);

	if (!abs)
		return ovl_params_err(ret_err, "%s '%s': %s", what, *path,
				      strerror(errno));
	if (stat(abs, &st) < 0 || !S_ISDIR(st.st_mode)) {
		free(abs);
		return ovl_params_err(ret_err, "%s '%s' is not a directory",
				      what, *path);
	}
	free(*path);
	*path = abs;
	return 0;
}

/* True when @a is @b or lies below it (both absolute and resolved). */
static bool ovl_params_is_subdir(const char *a, const char *b)
{
	size_t lb = strlen(b);

	if (lb == 1)
		return true; /* everything is below "/" */
	return !strncmp(a, b, lb) && (a[lb] == '\0' || a[lb] == '/');
}

/* The kernel's overflow id from @path; @id is kept when unreadable. */
static void ovl_params_overflow_id(const char *path, uint32_t *id)
{
	const char *end;
	char buf[32];
	uint32_t v;
	FILE *f = fopen(path, "re");

	if (!f)
		return;
	if (fgets(buf, sizeof(buf), f)) {
		buf[strcspn(buf, "\n")] = '\0';
		if (ovl_params_id(buf, &end, &v) == 0 && !*end)
			*id = v;
	}
	fclose(f);
}

/**
 * ovl_params_validate - resolve the paths and check the layer layout
 * @cfg: parsed configuration; its paths become absolute
 * @ret_err: on -EINVAL, a malloc'd one-line reason
 *
 * Checks what the kernel checks before mounting: every layer exists and
 * is a directory, upperdir and workdir come together, they are on one
 * filesystem and neither lies inside the other, no layer lies inside
 * the upper and the upper lies inside no layer.
 *
 * Return: 0, -EINVAL (message in *@ret_err) or -ENOMEM.
 */
int ovl_params_validate(struct ovl_config *cfg, char **ret_err)
{
	struct stat su, sw;
	int r;

	if (!cfg->nr_lower)
		return ovl_params_err(ret_err, "missing lowerdir= option");
	if (!cfg->mountpoint)
		return ovl_params_err(ret_err, "missing mountpoint");
	if (!!cfg->upperdir != !!cfg->workdir)
		return ovl_params_err(
			ret_err, cfg->upperdir ? "upperdir needs workdir="
					       : "workdir needs upperdir=");
	if (!cfg->upperdir && cfg->nr_lower < 2)
		return ovl_params_err(ret_err, "at least 2 lowerdir are needed "
					       "without upperdir");
	if (!cfg->upperdir && cfg->ovl_volatile)
		return ovl_params_err(ret_err, "volatile needs upperdir=");
	/*
	 * As the kernel: with userxattr the layers' owner could plant
	 * redirects, which read like symlinks into the lower layers
	 * without permission checks; they are never followed then.
	 */
	if (cfg->userxattr) {
		if (cfg->redirect_set && cfg->redirect != OVL_REDIRECT_OFF &&
		    cfg->redirect != OVL_REDIRECT_NOFOLLOW)
			return ovl_params_err(ret_err,
					      "redirect_dir=on and follow are "
					      "not compatible with userxattr");
		cfg->redirect = OVL_REDIRECT_NOFOLLOW;
	}
	r = ovl_params_resolve(&cfg->mountpoint, "mountpoint", ret_err);
	if (r < 0)
		return r;
	if (cfg->idmapped) {
		ovl_params_overflow_id("/proc/sys/kernel/overflowuid",
				       &cfg->uidmap.overflow);
		ovl_params_overflow_id("/proc/sys/kernel/overflowgid",
				       &cfg->gidmap.overflow);
	}
	for (unsigned int i = 0; i < cfg->nr_lower; i++) {
		r = ovl_params_resolve(&cfg->lowerdirs[i], "lowerdir", ret_err);
		if (r < 0)
			return r;
	}
	if (!cfg->upperdir)
		return 0;
	r = ovl_params_resolve(&cfg->upperdir, "upperdir", ret_err);
	if (r < 0)
		return r;
	r = ovl_params_resolve(&cfg->workdir, "workdir", ret_err);
	if (r < 0)
		return r;
	if (stat(cfg->upperdir, &su) < 0 || stat(cfg->workdir, &sw) < 0)
		return ovl_params_err(ret_err, "cannot stat upperdir/workdir");
	if (su.st_dev != sw.st_dev)
		return ovl_params_err(ret_err,
				      "workdir %s and upperdir %s must "
				      "be on the same filesystem",
				      cfg->workdir, cfg->upperdir);
	if (ovl_params_is_subdir(cfg->workdir, cfg->upperdir) ||
	    ovl_params_is_subdir(cfg->upperdir, cfg->workdir))
		return ovl_params_err(ret_err,
				      "workdir %s and upperdir %s must "
				      "be separate subtrees",
				      cfg->workdir, cfg->upperdir);
	for (unsigned int i = 0; i < cfg->nr_lower; i++) {
		const char *l = cfg->lowerdirs[i];

		if (ovl_params_is_subdir(cfg->upperdir, l) ||
		    ovl_params_is_subdir(l, cfg->upperdir))
			return ovl_params_err(ret_err,
					      "upperdir %s and lowerdir "
					      "%s overlap",
					      cfg->upperdir, l);
		if (ovl_params_is_subdir(cfg->workdir, l) ||
		    ovl_params_is_subdir(l, cfg->workdir))
			return ovl_params_err(ret_err,
					      "workdir %s and lowerdir "
					      "%s overlap",
					      cfg->workdir, l);
	}
	return 0;
}

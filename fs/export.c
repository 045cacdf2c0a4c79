// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Copy-up origins, in kernel overlayfs' on-disk format, so that an
 * object keeps its inode number across unmount and remount.
 *
 * Copy-up stores a file handle of the lower object (file or
 * directory) in overlay.origin of the copy and marks the upper parent
 * overlay.impure=y, as the kernel does. The value is a struct ovl_fb:
 * version 0, magic 0xfb, total length, flags (0: little-endian, lower
 * layer), handle type, the lower filesystem's 16-byte uuid, then the
 * handle bytes name_to_handle_at(2) gives (the kernel encodes the same
 * way). Kernel overlayfs mounted on such an upper reports the origin's
 * inode number too.
 *
 * Lookup of an upper non-directory with an origin decodes it with
 * open_by_handle_at(2) on a layer of that uuid and, when the lower
 * object still exists, is of the same type and has one link (the
 * kernel's rule), shows its inode number; readdir of an impure
 * directory does the same for d_ino. Decoding needs
 * CAP_DAC_READ_SEARCH: without it, or for a stale or foreign handle,
 * the upper inode number is shown, as before. Nothing here fails a
 * request: a bad origin is ignored.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "ovl.h"

/* FS_IOC_GETFSUUID (Linux 6.5), not in every libc's headers. */
struct ovl_fsuuid2 {
	uint8_t len;
	uint8_t uuid[16];
};
#define OVL_FS_IOC_GETFSUUID _IOR(0x15, 0, struct ovl_fsuuid2)

#define OVL_FB_VERSION 0
#define OVL_FB_MAGIC 0xfb
#define OVL_FB_HDR 21 /* version, magic, len, flags, type, uuid[16] */
#define OVL_FB_FLAG_BIG_ENDIAN 0x01
#define OVL_FB_FLAG_ANY_ENDIAN 0x02
#define OVL_FB_FLAG_PATH_UPPER 0x04
#define OVL_FB_MAX 255 /* len is one byte */
#define OVL_HANDLE_MAX 128 /* MAX_HANDLE_SZ: more is EINVAL */

/**
 * ovl_export_setup - learn what decoding origins needs of each lower
 * @ofs: the mount, lower layers open
 *
 * Opens one readable fd per lower layer (open_by_handle_at() takes no
 * O_PATH fd) and reads its filesystem's uuid. A layer without a uuid
 * or a readable root takes no part in origins.
 *
 * Return: 0 or -ENOMEM.
 */
int ovl_export_setup(struct ovl_fs *ofs)
{
	unsigned int n = ofs->config.nr_lower;
	char p[OVL_PROC_PATH_MAX];

	ofs->export = calloc(n, sizeof(*ofs->export));
	if (!ofs->export)
		return -ENOMEM;
	for (unsigned int i = 0; i < n; i++) {
		struct ovl_export_layer *l = &ofs->export[i];
		struct ovl_fsuuid2 u = {.len = sizeof(u.uuid)};
		struct stat st;

		l->fd = open(ovl_proc_path(p, ofs->lower_fds[i]),
			     O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (l->fd < 0)
			continue;
		if (fstat(l->fd, &st) < 0)
			continue;
		l->dev = st.st_dev;
		if (ioctl(l->fd, OVL_FS_IOC_GETFSUUID, &u) == 0 &&
		    u.len == sizeof(u.uuid)) {
			memcpy(l->uuid, u.uuid, sizeof(l->uuid));
			l->ok = true;
		}
	}
	return 0;
}

/**
 * ovl_export_free - close what ovl_export_setup() opened
 * @ofs: the mount
 */
void ovl_export_free(struct ovl_fs *ofs)
{
	for (unsigned int i = 0; ofs->export && i < ofs->config.nr_lower; i++)
		if (ofs->export[i].fd >= 0)
			close(ofs->export[i].fd);
	free(ofs->export);
	ofs->export = NULL;
}

/* The setup entry of lower layer @layer if origins can name it, or NULL. */
static const struct ovl_export_layer *ovl_export_layer_of(struct ovl_fs *ofs,
							  unsigned int layer)
{
	const struct ovl_export_layer *l;

	if (!ofs->export || layer < 1 || layer > ofs->config.nr_lower)
		return NULL;
	l = &ofs->export[layer - 1];
	/* One filesystem: the handle goes with a null uuid. */
	return l->fd >= 0 && (l->ok || ofs->samefs) ? l : NULL;
}

/**
 * ovl_set_impure - mark an upper directory as holding entries with a
 * copy-up origin (overlay.impure=y), as the kernel does
 * @ofs: the mount
 * @dir_fd: O_PATH fd of the upper directory
 *
 * Return: 0 or -errno.
 */
int ovl_set_impure(struct ovl_fs *ofs, int dir_fd)
{
	char name[64], v[2];

	snprintf(name, sizeof(name), "%simpure", ofs->xattr_prefix);
	if (ovl_getxattr_at(dir_fd, ".", name, v, sizeof(v)) == 1 &&
	    v[0] == 'y')
		return 0;
	return ovl_set_xattr(ofs, dir_fd, "impure", "y", 1);
}

/**
 * ovl_origin_set - record the lower object a copy was made from
 * @ofs: the mount
 * @src: O_PATH fd of the lower object
 * @layer: its layer (1 = top-most lower)
 * @dst: O_PATH fd of the copy (still in work/)
 * @parent_ufd: O_PATH fd of the upper directory the copy goes to
 *
 * Return: 0 (also when the lower filesystem has no handles or uuid:
 * then there is no origin), or -errno when the xattr cannot be
 * written.
 */
int ovl_origin_set(struct ovl_fs *ofs, int src, unsigned int layer, int dst,
		   int parent_ufd)
{
	const struct ovl_export_layer *l = ovl_export_layer_of(ofs, layer);
	unsigned char fb[OVL_FB_MAX];
	struct file_handle *fh;
	int mnt_id, r;

	if (!l)
		return 0;
	fh = malloc(sizeof(*fh) + OVL_HANDLE_MAX);
	if (!fh)
		return -ENOMEM;
	fh->handle_bytes = OVL_HANDLE_MAX;
	if (name_to_handle_at(src, "", fh, &mnt_id, AT_EMPTY_PATH) < 0 ||
	    fh->handle_type < 0 || fh->handle_type > 0xff) {
		free(fh);
		return 0;
	}
	fb[0] = OVL_FB_VERSION;
	fb[1] = OVL_FB_MAGIC;
	fb[2] = (unsigned char)(OVL_FB_HDR + fh->handle_bytes);
	fb[3] = 0;
	fb[4] = (unsigned char)fh->handle_type;
	/* The kernel writes a null uuid when every layer is on one fs. */
	if (ofs->samefs)
		memset(fb + 5, 0, sizeof(l->uuid));
	else
		memcpy(fb + 5, l->uuid, sizeof(l->uuid));
	memcpy(fb + OVL_FB_HDR, fh->f_handle, fh->handle_bytes);
	free(fh);
	r = ovl_set_xattr(ofs, dst, "origin", fb, fb[2]);
	if (r < 0)
		return r == -EOPNOTSUPP ? 0 : r;
	r = ovl_set_impure(ofs, parent_ufd);
	return r == -EOPNOTSUPP ? 0 : r;
}

/*
 * Decodes the origin @fb (@n bytes) of an object of @type: its lower
 * inode number and layer. Return: 1 found, 0 not usable.
 */
static int ovl_origin_decode(struct ovl_fs *ofs, const unsigned char *fb,
			     size_t n, mode_t type, ino_t *ret_ino,
			     unsigned int *ret_layer)
{
	static const uint8_t zero[16];
	struct file_handle *fh;
	bool null_uuid;
	struct stat st;
	int fd = -1, found = 0;

	if (n < OVL_FB_HDR || fb[0] != OVL_FB_VERSION ||
	    fb[1] != OVL_FB_MAGIC || fb[2] != n ||
	    (fb[3] & ~(OVL_FB_FLAG_ANY_ENDIAN)) != 0)
		return 0; /* another version, big-endian or an upper handle */
	if (n - OVL_FB_HDR > OVL_HANDLE_MAX)
		return 0;
	null_uuid = !memcmp(fb + 5, zero, sizeof(zero));
	fh = malloc(sizeof(*fh) + n - OVL_FB_HDR);
	if (!fh)
		return 0;
	fh->handle_bytes = (unsigned int)(n - OVL_FB_HDR);
	fh->handle_type = fb[4];
	memcpy(fh->f_handle, fb + OVL_FB_HDR, n - OVL_FB_HDR);
	for (unsigned int i = 0; i < ofs->config.nr_lower && !found; i++) {
		const struct ovl_export_layer *l = &ofs->export[i];

		if (l->fd < 0 ||
		    (!null_uuid && (!l->ok || memcmp(l->uuid, fb + 5, 16))))
			continue;
		/* A null uuid: the first layer the handle decodes in. */
		fd = open_by_handle_at(l->fd, fh, O_PATH | O_CLOEXEC);
		if (fd < 0) {
			if (null_uuid && errno == ESTALE)
				continue;
			break; /* stale, or no CAP_DAC_READ_SEARCH */
		}
		if (fstat(fd, &st) == 0 && st.st_dev == l->dev &&
		    (st.st_mode & S_IFMT) == type && st.st_nlink == 1) {
			*ret_ino = st.st_ino;
			*ret_layer = i + 1;
			found = 1;
		}
		close(fd);
		break;
	}
	free(fh);
	return found;
}

/**
 * ovl_origin_get - the copy-up origin of an upper non-directory
 * @ofs: the mount
 * @dirfd: the upper directory holding it
 * @name: its name
 * @type: its S_IFMT bits
 * @ret_ino: the origin's inode number
 * @ret_layer: the origin's layer
 *
 * Return: 1 found, 0 none or not usable (never an error).
 */
int ovl_origin_get(struct ovl_fs *ofs, int dirfd, const char *name, mode_t type,
		   ino_t *ret_ino, unsigned int *ret_layer)
{
	unsigned char fb[OVL_FB_MAX];
	char xname[64];
	ssize_t n;

	if (!ofs->export || S_ISDIR(type))
		return 0;
	snprintf(xname, sizeof(xname), "%sorigin", ofs->xattr_prefix);
	n = ovl_getxattr_at(dirfd, name, xname, fb, sizeof(fb));
	if (n <= 0)
		return 0;
	return ovl_origin_decode(ofs, fb, (size_t)n, type, ret_ino, ret_layer);
}

/**
 * ovl_dir_impure - may the upper directory @fd hold copied-up entries
 * whose d_ino must come from their origin?
 * @ofs: the mount
 * @fd: O_PATH fd of an upper directory
 *
 * Return: true when it carries overlay.impure=y.
 */
bool ovl_dir_impure(struct ovl_fs *ofs, int fd)
{
	char name[64], v[2];

	if (!ofs->export)
		return false;
	snprintf(name, sizeof(name), "%simpure", ofs->xattr_prefix);
	return ovl_getxattr_at(fd, ".", name, v, sizeof(v)) == 1 && v[0] == 'y';
}

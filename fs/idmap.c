// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The id options fuse-overlayfs users pass as a mount_program
 * (uidmapping=, gidmapping=, squash_to_root, squash_to_uid=,
 * squash_to_gid=), with its semantics: the ids stored in the layers are
 * shown through the mount mapped by the ranges (an id outside every
 * range shows as the kernel's overflow id), and the ids the kernel
 * hands in (the creator of a new object, chown) are mapped back the
 * other way before they are stored. A squash option replaces every id
 * shown, and leaves what is stored alone.
 *
 * Only owners are mapped: ids inside POSIX ACL xattrs are stored and
 * shown as they are. Copy-up and hard links keep the ids on disk.
 */
#include <sys/stat.h>

#include "ovl.h"

/* Maps @id from one side of @m to the other; @to_shown picks the way. */
static uint32_t ovl_idmap_map(const struct ovl_idmap *m, uint32_t id,
			      bool to_shown)
{
	if (!m->nr)
		return id;
	for (unsigned int i = 0; i < m->nr; i++) {
		const struct ovl_idmap_range *r = &m->r[i];
		uint32_t from = to_shown ? r->disk : r->shown;
		uint32_t to = to_shown ? r->shown : r->disk;

		if (id >= from && id - from < r->len)
			return to + (id - from);
	}
	return m->overflow;
}

/**
 * ovl_id_shown - the id the mount shows for one stored in a layer
 * @m: the uid or gid map of the mount
 * @disk: the stored id
 *
 * Return: the squash id if set, else @disk mapped (or the overflow id).
 */
uint32_t ovl_id_shown(const struct ovl_idmap *m, uint32_t disk)
{
	return m->squash ? m->squash_id : ovl_idmap_map(m, disk, true);
}

/**
 * ovl_id_disk - the id to store for one the kernel handed in
 * @m: the uid or gid map of the mount
 * @shown: an id as the mount shows ids (creator, chown argument)
 *
 * Return: @shown mapped back (or the overflow id); squashing plays no
 * part here.
 */
uint32_t ovl_id_disk(const struct ovl_idmap *m, uint32_t shown)
{
	return ovl_idmap_map(m, shown, false);
}

/**
 * ovl_attr_shown - turn attributes read from a layer into what the
 * mount reports
 * @ofs: the mount
 * @st: attributes; owner and group are mapped in place
 */
void ovl_attr_shown(const struct ovl_fs *ofs, struct stat *st)
{
	if (!ofs->config.idmapped)
		return;
	st->st_uid = ovl_id_shown(&ofs->config.uidmap, st->st_uid);
	st->st_gid = ovl_id_shown(&ofs->config.gidmap, st->st_gid);
}

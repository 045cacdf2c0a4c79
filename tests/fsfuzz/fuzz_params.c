// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * libFuzzer target for the daemon's mount option parser (fs/params.c).
 *
 * The input is used twice: as a whole "-o" option string for
 * ovl_params_parse() (which also splits any lowerdir= value it finds),
 * as a bare lowerdir value for ovl_params_split_lowerdir(), and as an
 * id mapping value for ovl_params_idmap(). No I/O
 * happens: ovl_params_validate(), which resolves paths, is not called.
 * Invariants checked: a successful split yields exactly *ret_n non-empty
 * strings; a parse that succeeds leaves a consistent configuration; an
 * id map that parses has 1..OVL_MAX_IDMAP non-empty ranges that end
 * inside 32 bits, and a rejected one leaves the map as it was.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "params.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_params_check_split(const char *s)
{
	unsigned int n = 0;
	char **v = NULL;

	if (ovl_params_split_lowerdir(s, &v, &n) < 0)
		return;
	for (unsigned int i = 0; i < n; i++)
		if (!v[i] || !v[i][0])
			abort();
	if (v[n] || n == 0 || n > OVL_MAX_STACK)
		abort();
	ovl_params_free_strv(v);
}

static void fuzz_params_check_idmap(const char *s)
{
	struct ovl_idmap m;

	memset(&m, 0x5a, sizeof(m));
	m.nr = 0;
	if (ovl_params_idmap(&m, s) < 0) {
		if (m.nr != 0)
			abort();
		return;
	}
	if (m.nr == 0 || m.nr > OVL_MAX_IDMAP)
		abort();
	for (unsigned int i = 0; i < m.nr; i++)
		if (!m.r[i].len ||
		    m.r[i].disk + (uint64_t)m.r[i].len > UINT32_MAX ||
		    m.r[i].shown + (uint64_t)m.r[i].len > UINT32_MAX)
			abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ovl_config cfg;
	char *s, *err = NULL;

	s = malloc(size + 1);
	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';

	ovl_config_init(&cfg);
	if (ovl_params_parse(&cfg, s, &err) == 0) {
		if (!!cfg.lowerdirs != !!cfg.nr_lower)
			abort();
		if (cfg.lowerdirs && cfg.lowerdirs[cfg.nr_lower])
			abort();
	}
	free(err);
	ovl_config_done(&cfg);

	fuzz_params_check_split(s);
	fuzz_params_check_idmap(s);
	free(s);
	return 0;
}

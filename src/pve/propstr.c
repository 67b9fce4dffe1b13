// SPDX-License-Identifier: GPL-2.0-or-later
#include "pve/propstr.h"

#include <errno.h>
#include <stdio.h>
#include <strings.h>

#include "base/cpuset.h"
#include "base/util.h"

char *pve_uri_decode(const char *s)
{
	size_t len = strlen(s), o = 0;
	char *r = xcalloc(1, len + 1);

	for (size_t i = 0; i < len; i++) {
		if (s[i] == '%' && i + 2 < len && hex_digit(s[i + 1]) >= 0 &&
		    hex_digit(s[i + 2]) >= 0) {
			char c = (char)(hex_digit(s[i + 1]) * 16 + hex_digit(s[i + 2]));

			/* a decoded NUL would cut the string: keep the escape */
			if (c != '\0') {
				r[o++] = c;
				i += 2;
				continue;
			}
		}
		r[o++] = s[i];
	}
	r[o] = '\0';
	return r;
}

/* ---- property strings ---- */

void propkv_free(struct propkv *kv, size_t n)
{
	if (!kv)
		return;
	for (size_t i = 0; i < n; i++) {
		free(kv[i].key);
		free(kv[i].value);
	}
	free(kv);
}

int propstr_split(const char *s, const char *default_key, struct propkv **kv, size_t *n,
		  char **err)
{
	struct propkv *v = NULL;
	size_t nv = 0;
	const char *p = s ? s : "";
	int r = 0;

	*kv = NULL;
	*n = 0;
	for (;;) {
		const char *comma = strchr(p, ',');
		size_t len = comma ? (size_t)(comma - p) : strlen(p);
		const char *eq = memchr(p, '=', len);
		char *key, *value;

		if (str_is_blank(p, len))
			goto next;
		if (!eq) {
			if (!default_key) {
				r = errf(
				    err,
				    "value '%.*s' without a key (expected key=value)",
				    (int)len, p);
				goto fail;
			}
			key = xstrdup(default_key);
			value = xstrndup(p, len);
		} else if (eq == p) {
			r = errf(err, "missing key in '%.*s' (expected key=value)",
				 (int)len, p);
			goto fail;
		} else if (eq == p + len - 1) {
			r = errf(err, "key '%.*s' has an empty value", (int)(eq - p), p);
			goto fail;
		} else {
			key = xstrndup(p, (size_t)(eq - p));
			value = xstrndup(eq + 1, len - (size_t)(eq - p) - 1);
		}
		for (size_t i = 0; i < nv; i++) {
			if (streq(v[i].key, key)) {
				if (!eq)
					r = errf(
					    err,
					    "duplicate key '%s': '%s' has no key, so it is the %s, which is already '%s'",
					    key, value, key, v[i].value);
				else
					r = errf(err, "duplicate key '%s'", key);
				free(key);
				free(value);
				goto fail;
			}
		}
		v = xrealloc(v, (nv + 1) * sizeof(*v));
		v[nv].key = key;
		v[nv].value = value;
		nv++;
	next:
		if (!comma)
			break;
		p = comma + 1;
	}
	*kv = v;
	*n = nv;
	return 0;
fail:
	propkv_free(v, nv);
	return r;
}

int pve_parse_bool(const char *s, bool *out)
{
	static const char *const yes[] = {"1", "on", "yes", "true"};
	static const char *const no[] = {"0", "off", "no", "false"};

	if (!s)
		return -EINVAL;
	for (size_t i = 0; i < ARRAY_SIZE(yes); i++) {
		if (strcasecmp(s, yes[i]) == 0) {
			*out = true;
			return 0;
		}
		if (strcasecmp(s, no[i]) == 0) {
			*out = false;
			return 0;
		}
	}
	return -EINVAL;
}

/* ---- cpu sets and number lists ---- */

int pve_parse_cpuset(const char *s, char **err)
{
	struct cpuset set;

	return pve_cpuset(s, &set, err);
}

int pve_cpuset(const char *s, struct cpuset *out, char **err)
{
	/* PVE::CpuSet: white space around each part, trailing commas (split) */
	return cpuset_parse(s, CPUSET_LENIENT, out, err);
}

/* Proxmox's number sets in numaN: \d+(?:-\d+)?(?:;\d+(?:-\d+)?)* */
bool pve_valid_number_sets(const char *s)
{
	const char *p = s;

	for (;;) {
		const char *semi = strchr(p, ';');
		size_t len = semi ? (size_t)(semi - p) : strlen(p);
		unsigned long long from, to;

		if (len == 0 || parse_uint_range(p, len, ~0ULL, &from, &to) < 0)
			return false;
		if (!semi)
			return true;
		p = semi + 1;
	}
}

// SPDX-License-Identifier: GPL-2.0
/* keyutils glue. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <keyutils.h>

#include "keys.h"

key_id keys_find(const char *type, const char *desc)
{
	long id = keyctl_search(KEY_SPEC_USER_KEYRING, type, desc, 0);

	if (id >= 0)
		return (key_id)id;
	if (errno == ENOKEY || errno == EKEYREVOKED || errno == EKEYEXPIRED)
		return 0;
	return -errno;
}

/*
 * The key @spec names, as cryptsetup 2.7's --volume-key-keyring takes it: a
 * serial number, "%TYPE:DESC", or a DESC of a user key. It is looked for in
 * the session keyring, then in the user keyring (a service's session keyring
 * is its own and does not link the user keyring). -EINVAL: @spec is
 * malformed; -ENOKEY: no such key.
 */
key_id keys_lookup(const char *spec)
{
	char type[32] = "user";
	const char *desc = spec, *colon;
	char *end;
	long id;

	errno = 0;
	id = strtol(spec, &end, 10);
	if (*spec && !*end)
		return errno || id <= 0 || id > INT32_MAX ? -EINVAL : (key_id)id;
	if (spec[0] == '%') {
		colon = strchr(spec + 1, ':');
		if (!colon || colon == spec + 1 ||
		    (size_t)(colon - spec - 1) >= sizeof(type))
			return -EINVAL;
		memcpy(type, spec + 1, colon - spec - 1);
		type[colon - spec - 1] = '\0';
		desc = colon + 1;
	}
	if (!*desc)
		return -EINVAL;
	id = keyctl_search(KEY_SPEC_SESSION_KEYRING, type, desc, 0);
	if (id < 0)
		id = keyctl_search(KEY_SPEC_USER_KEYRING, type, desc, 0);
	return id < 0 ? -errno : (key_id)id;
}

key_id keys_add_logon(const char *desc, const struct secret *key)
{
	key_serial_t id = add_key("logon", desc, key->data, key->len,
				  KEY_SPEC_USER_KEYRING);

	return id < 0 ? -errno : id;
}

int keys_drop(key_id id)
{
	int ret = 0;

	if (keyctl_revoke(id) < 0)
		ret = -errno;
	/* Unlink even if revoking failed, the key must not stay reachable. */
	if (keyctl_unlink(id, KEY_SPEC_USER_KEYRING) < 0 && ret == 0)
		ret = -errno;
	return ret;
}

/*
 * Splits "type;uid;gid;perm;description" as returned by KEYCTL_DESCRIBE.
 * The description is last and may itself contain ';'.
 */
static const char *describe_field(const char *d, int field)
{
	while (field-- > 0) {
		d = strchr(d, ';');
		if (!d)
			return NULL;
		d++;
	}
	return d;
}

static int keys_push(struct user_key **keys, size_t *n, key_id id,
		     const char *desc, const char *uuid)
{
	struct user_key *v = realloc(*keys, (*n + 1) * sizeof(*v));

	if (!v)
		return -ENOMEM;
	*keys = v;
	v[*n].id = id;
	v[*n].desc = strdup(desc);
	if (!v[*n].desc)
		return -ENOMEM;
	memcpy(v[*n].uuid, uuid, UUID_BUF_LEN);
	(*n)++;
	return 0;
}

int keys_list_volume_keys(struct user_key **keys, size_t *n)
{
	key_serial_t *ids = NULL;
	char uuid[UUID_BUF_LEN];
	int len, i, count, ret = 0;

	*keys = NULL;
	*n = 0;
	/* Reading a keyring gives the ids of the keys linked in it. */
	len = keyctl_read_alloc(KEY_SPEC_USER_KEYRING, (void **)&ids);
	if (len < 0)
		return -errno;
	count = len / (int)sizeof(*ids);
	for (i = 0; i < count && ret == 0; i++) {
		char *d = NULL;
		const char *desc;

		/* A key may vanish between both calls; skip it then. */
		if (keyctl_describe_alloc(ids[i], &d) < 0)
			continue;
		desc = describe_field(d, 4);
		if (strncmp(d, "user;", 5) == 0 && desc &&
		    desc_uuid(desc, uuid))
			ret = keys_push(keys, n, ids[i], desc, uuid);
		free(d);
	}
	free(ids);
	if (ret < 0) {
		keys_free_list(*keys, *n);
		*keys = NULL;
		*n = 0;
	}
	return ret;
}

void keys_free_list(struct user_key *keys, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(keys[i].desc);
	free(keys);
}

int keys_read(key_id id, struct secret *out)
{
	long size, got;

	/*
	 * Not keyctl_read_alloc(): it may leave partial copies of the key in
	 * freed heap memory. Ask for the size, then read once into a secret.
	 */
	size = keyctl_read(id, NULL, 0);
	if (size < 0)
		return -errno;
	if (size == 0)
		return -ENODATA;
	if (size > VOLUME_KEY_MAX_LEN)
		return -E2BIG;
	if (secret_alloc(out, (size_t)size) < 0)
		return -ENOMEM;
	got = keyctl_read(id, (char *)out->data, (size_t)size);
	if (got != size) {
		int err = got < 0 ? -errno : -EAGAIN;

		secret_free(out);
		return err;
	}
	out->len = (size_t)size;
	return 0;
}

/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The kernel keyring side: the logon keys that the running kernel hands
 * over, and the user keys that the capture kernel restores them as. Every
 * key crashkey touches lives in the user keyring (@u) of the caller.
 */
#ifndef CRASHKEY_KEYS_H
#define CRASHKEY_KEYS_H

#include <stddef.h>
#include <stdint.h>

#include "names.h"
#include "secret.h"

typedef int32_t key_id;

/*
 * The id of the key of @type with @desc reachable from @u: > 0 found, 0
 * none (or only a revoked or expired one), < 0 -errno.
 */
key_id keys_find(const char *type, const char *desc);

/* Adds (or updates) the logon key @desc in @u. > 0 id, or -errno. */
key_id keys_lookup(const char *spec);
key_id keys_add_logon(const char *desc, const struct secret *key);

/*
 * Revokes the key, so nobody holding a link to it can use it any more,
 * then unlinks it from @u. 0 or -errno of the first step that failed.
 */
int keys_drop(key_id id);

/* A user key in @u whose description names a volume. */
struct user_key {
	key_id id;
	char *desc;
	char uuid[UUID_BUF_LEN];
};

/*
 * The keys of type "user" linked directly in @u whose description ends in
 * "vk-<canonical UUID>", in keyring order. 0 or -errno.
 */
int keys_list_volume_keys(struct user_key **keys, size_t *n);
void keys_free_list(struct user_key *keys, size_t n);

/*
 * Reads a user key's payload into a secret. -E2BIG if it is longer than a
 * volume key can be, -EAGAIN if it changed while being read.
 */
int keys_read(key_id id, struct secret *out);

#endif

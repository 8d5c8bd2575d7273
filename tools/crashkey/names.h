/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Names shared by every part of crashkey: canonical LUKS UUIDs and the
 * description of the key that carries a volume key.
 */
#ifndef CRASHKEY_NAMES_H
#define CRASHKEY_NAMES_H

#include <stdbool.h>
#include <stddef.h>

/*
 * "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx", lowercase hex. Not called
 * UUID_STR_LEN: <uuid/uuid.h> has that name, for 37.
 */
#define UUID_TEXT_LEN	36
#define UUID_BUF_LEN	(UUID_TEXT_LEN + 1)

/* Limits the kernel enforces on a handed-over key (see crash_key_blob.h). */
#define KEY_DESC_MAX_LEN	255
#define VOLUME_KEY_MAX_LEN	256

/* Same convention as Fedora's kdump-utils, so both tools interoperate. */
#define DESC_DEFAULT_PREFIX	"kdump-cryptsetup:vk-"
/* What ties a description to its volume: it ends in "vk-<UUID>". */
#define DESC_UUID_MARKER	"vk-"

/*
 * Name of the device-mapper device that unlock creates for a volume that
 * crypttab does not name.
 */
#define MAPPER_PREFIX		"luks-"
#define MAPPER_DIR		"/dev/mapper/"
/* The longest device-mapper name: the kernel's DM_NAME_LEN less its NUL. */
#define MAPPER_NAME_MAX		127

/*
 * UUIDs are parsed and written by libuuid. These two have no libuuid name:
 * a function of ours under one of its names would take its place inside
 * libcryptsetup and libblkid too.
 */

/* True if @s is exactly a canonical (lowercase) UUID. */
bool uuid_is_canonical(const char *s);

/*
 * Canonicalise a UUID written in either case into @out. Accepts an optional
 * "UUID=" prefix as in fstab and crypttab. False if @in is not a UUID.
 */
bool uuid_canonical(const char *in, char out[UUID_BUF_LEN]);

/* The default key description for a volume. */
void desc_default(const char *uuid, char out[KEY_DESC_MAX_LEN + 1]);

/*
 * The canonical UUID that a key description names: the 36 characters after
 * its last "vk-", which must end the description. False if there is none.
 */
bool desc_uuid(const char *desc, char out[UUID_BUF_LEN]);

/*
 * Check a description the user asked for. NULL if it can serve as the logon
 * key description for volume @uuid, else why not.
 */
const char *desc_check(const char *desc, const char *uuid);

#endif

/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The kernel's crash_key_handover configfs interface. This is the only
 * module that knows its layout:
 *
 *   running kernel:  <dir>/<UUID>/description, <dir>/<UUID>/handed_over,
 *                    <dir>/count, <dir>/reuse, <dir>/handed_over
 *   capture kernel:  <dir>/restore
 *
 * <dir> is /sys/kernel/config/crash_key_handover unless $CRASHKEY_CONFIGFS
 * names another directory. A directory that is not on configfs is treated
 * as a test stand-in: files are created where configfs would have them.
 *
 * Functions return 0 or -errno as the kernel reported it.
 */
#ifndef CRASHKEY_CONFIGFS_H
#define CRASHKEY_CONFIGFS_H

#include <stdbool.h>
#include <stddef.h>

#include "names.h"

#define CONFIGFS_DEFAULT_DIR	"/sys/kernel/config/crash_key_handover"

const char *configfs_dir(void);

/*
 * Mainline's interface, which crashkey does not drive: its items are read at
 * load time and stay in the keyring, its hand-over is another format.
 */
#define CONFIGFS_MAINLINE_NAME	"crash_dm_crypt_keys"

/* Whether mainline's interface is there, beside where ours would be. */
bool configfs_mainline_present(void);

/* 0 if the directory is there, -ENOENT or -ENOTDIR if not. */
int configfs_check(void);

/* Creates the item for @uuid; *@created is false if it existed. */
int configfs_item_create(const char *uuid, bool *created);
int configfs_item_remove(const char *uuid);
bool configfs_item_exists(const char *uuid);

/* Hands the kernel the description of the logon key for @uuid. */
int configfs_item_set_description(const char *uuid, const char *desc);
int configfs_item_get_description(const char *uuid,
				  char desc[KEY_DESC_MAX_LEN + 1]);

/* The UUIDs of all items, sorted. Free with configfs_free_items(). */
int configfs_items(char ***uuids, size_t *n);
void configfs_free_items(char **uuids, size_t n);

/* The top-level attributes; -ENOENT where the kernel has none. */
int configfs_read_count(long *count);
int configfs_read_reuse(long *reuse);

/* Whether the key blob the kernel keeps carries a volume's key. */
enum handover_state {
	HANDOVER_UNKNOWN,	/* no handed_over attribute: an older kernel */
	HANDOVER_NO,		/* registered after the last load, or dropped */
	HANDOVER_YES,
	HANDOVER_STALE,		/* carried, but registered again since */
};

/* "unknown", "no", "yes" or "stale". */
const char *handover_state_name(enum handover_state state);

enum handover_state configfs_item_handed_over(const char *uuid);

/* A SHA-256, in hex. */
#define HANDOVER_DIGEST_LEN	64

/* What the kept blob carries, from the top-level handed_over attribute. */
struct handover {
	long count;		/* keys in it; 0 if there is none */
	/* SHA-256 of their items' binary UUIDs in blob order; "" if none */
	char digest[HANDOVER_DIGEST_LEN + 1];
};

/* -ENOENT on a kernel without the attribute, -EPROTO if it is garbled. */
int configfs_read_handover(struct handover *h);

/*
 * Asks the capture kernel to restore the handed-over keys as user keys.
 * *@no_interface is set when the restore file itself could not be opened
 * (not a capture kernel or no kernel support), as opposed to the kernel
 * refusing the write (-ENOENT nothing to restore, -EBADMSG or -EINVAL
 * hand-over data invalid).
 */
int configfs_restore(bool *no_interface);

#endif

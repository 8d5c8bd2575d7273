/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The kernel's crash_dm_crypt_keys configfs interface. This is the only
 * module that knows its layout:
 *
 *   running kernel:  <dir>/<UUID>/description, <dir>/count, <dir>/reuse
 *   capture kernel:  <dir>/restore
 *
 * <dir> is /sys/kernel/config/crash_dm_crypt_keys unless $CRASHKEY_CONFIGFS
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

#define CONFIGFS_DEFAULT_DIR	"/sys/kernel/config/crash_dm_crypt_keys"

const char *configfs_dir(void);

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

/*
 * Asks the capture kernel to restore the handed-over keys as user keys.
 * *@no_interface is set when the restore file itself could not be opened
 * (not a capture kernel or no kernel support), as opposed to the kernel
 * refusing the write (-ENOENT nothing to restore, -EBADMSG or -EINVAL
 * hand-over data invalid).
 */
int configfs_restore(bool *no_interface);

#endif

/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Everything crashkey asks of libcryptsetup: open LUKS headers, find
 * devices by UUID, derive and check volume keys, activate volumes.
 */
#ifndef CRASHKEY_LUKS_H
#define CRASHKEY_LUKS_H

#include <stdbool.h>
#include <stddef.h>

#include "names.h"
#include "secret.h"

struct crypt_device;

/*
 * Call once before any other luks_* function: keeps libdevmapper from
 * waiting for udev where there is none, and routes libcryptsetup's own
 * messages to stderr only with --verbose.
 */
void luks_setup(void);

/*
 * Opens the LUKS header on @path (block device or image file) and gets its
 * canonical UUID. 0, or -errno: -ENOENT no such file, -ENOTBLK neither a
 * block device nor a regular file, -EINVAL no LUKS header, -EPROTO the
 * header's UUID is not a UUID, others from the system.
 */
int luks_open(const char *path, struct crypt_device **cd,
	      char uuid[UUID_BUF_LEN]);
void luks_close(struct crypt_device *cd);

/* One LUKS volume found on a block device. */
struct luks_dev {
	char uuid[UUID_BUF_LEN];
	char *path;
};

struct luks_devlist {
	struct luks_dev *v;
	size_t n;
};

/*
 * Reads the header of every block device listed in /sys/class/block (or
 * $CRASHKEY_SYSFS_BLOCK), as /dev/<name>. When two devices carry the same
 * UUID the first in name order wins and a warning is printed.
 */
int luks_scan(struct luks_devlist *list);
/* Device path of the volume with @uuid, or NULL. */
const char *luks_devlist_find(const struct luks_devlist *list,
			      const char *uuid);
void luks_devlist_free(struct luks_devlist *list);

/*
 * Derives the volume key from a passphrase, trying every key slot, then
 * checks it against the header digest once more. 0, -EPERM no key slot
 * matches, -E2BIG key longer than the kernel takes, other -errno.
 */
int luks_derive_key(struct crypt_device *cd, const struct secret *pass,
		    struct secret *vk);

/* 0 if @key is the volume key of @cd, -EPERM if not, other -errno. */
int luks_verify_key(struct crypt_device *cd, const struct secret *key);

/* Sets up /dev/mapper/@name. 0, -EEXIST already active, other -errno. */
int luks_activate(struct crypt_device *cd, const char *name,
		  const struct secret *key);

#endif

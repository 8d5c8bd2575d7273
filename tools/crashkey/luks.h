/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Everything crashkey asks of libcryptsetup and libblkid: open LUKS headers,
 * find devices by UUID, derive and check volume keys, activate volumes.
 */
#ifndef CRASHKEY_LUKS_H
#define CRASHKEY_LUKS_H

#include <stdbool.h>
#include <stddef.h>

#include "names.h"
#include "secret.h"

struct crypt_device;
/* libblkid's cache, as blkid_cache points to it. */
struct blkid_struct_cache;

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
/*
 * As luks_open(), for a volume whose LUKS header is kept apart from its
 * data (cryptsetup --header): the header is read from @header, the volume
 * is set up on @data. -ENODEV if @data does not exist.
 */
int luks_open_detached(const char *header, const char *data,
		       struct crypt_device **cd, char uuid[UUID_BUF_LEN]);
void luks_close(struct crypt_device *cd);

/* A LUKS UUID found on block devices. */
struct luks_dev {
	char uuid[UUID_BUF_LEN];
	char *path;
	char *other;	/* a second device with the same UUID, or NULL */
};

struct luks_devlist {
	struct luks_dev *v;
	size_t n;
	/* What the scan probed, kept for luks_resolve_spec(); may be NULL. */
	struct blkid_struct_cache *cache;
};

/*
 * Lists the LUKS volumes on the block devices, as libblkid sees them: its
 * device names (/dev/mapper/<name> for dm devices), and its safe probing,
 * which leaves out a device whose signatures contradict each other and
 * calls a RAID member a RAID member even with a LUKS header at its start.
 * A device that is part of an md array or a multipath map (a holder of it,
 * or of its disk if it is a partition, is md* or has a DM UUID starting
 * with "mpath-") is left out too: the volume is on the array or the map.
 * When two devices carry one UUID both are kept, in path and other; the
 * callers refuse to choose. CRASHKEY_SYSFS_BLOCK, for the tests, is read
 * for holders instead of /sys/class/block. 0 or -errno.
 */
int luks_scan(struct luks_devlist *list);
/* The entry for @uuid, or NULL. */
const struct luks_dev *luks_devlist_find(const struct luks_devlist *list,
					 const char *uuid);
void luks_devlist_free(struct luks_devlist *list);

/*
 * The device a crypttab or fstab source names: UUID=, PARTUUID=, LABEL=,
 * PARTLABEL= (looked up by libblkid in what @list's scan probed) or a path,
 * canonical (symlinks resolved, dm devices as /dev/mapper/<name>). Malloc'd;
 * NULL if no device has the tag, or out of memory. A path is returned even
 * when nothing is there.
 */
char *luks_resolve_spec(struct luks_devlist *list, const char *spec);

/*
 * Derives the volume key from a passphrase, trying every key slot, then
 * checks it against the header digest once more. 0, -EPERM no key slot
 * matches, -E2BIG key longer than the kernel takes, other -errno.
 */
int luks_derive_key(struct crypt_device *cd, const struct secret *pass,
		    struct secret *vk);

/*
 * The volume key through a LUKS2 token (systemd's TPM2 and FIDO2 plugins,
 * the built-in keyring token...): @token is a token ID, or -1 for any,
 * @type a token type or NULL for any, @pin NULL unless a token asked for
 * one. Checked like luks_derive_key()'s. -ENOANO a token needs a PIN,
 * -ENOENT no usable token, -EPERM none opens a key slot, other -errno.
 */
int luks_token_key(struct crypt_device *cd, int token, const char *type,
		   const struct secret *pin, struct secret *vk);

/* 0 if @key is the volume key of @cd, -EPERM if not, other -errno. */
int luks_verify_key(struct crypt_device *cd, const struct secret *key);

/* Sets up /dev/mapper/@name. 0, -EEXIST already active, other -errno. */
int luks_activate(struct crypt_device *cd, const char *name,
		  const struct secret *key);

#endif

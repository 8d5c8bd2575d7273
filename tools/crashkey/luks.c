// SPDX-License-Identifier: GPL-2.0
/* libcryptsetup and libblkid glue. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <blkid/blkid.h>
#include <libcryptsetup.h>

#include "luks.h"
#include "output.h"

/* Block devices by kernel name, for holders; CRASHKEY_SYSFS_BLOCK in tests. */
#define SYSFS_BLOCK_DEFAULT	"/sys/class/block"
/* MAJ:MIN links to each block device's sysfs directory. */
#define SYSFS_DEV_BLOCK		"/sys/dev/block"
/* What multipath-tools start a map's DM UUID with. */
#define DM_UUID_MULTIPATH	"mpath-"
#define UDEV_CONTROL		"/run/udev/control"
/* LUKS2's binary header alone is 4 KiB; a LUKS1 header with key material is bigger. */
#define LUKS_MIN_FILE_SIZE	4096

/* Looks at the flag on every call: --verbose may follow the command name. */
static void log_if_verbose(int level, const char *msg, void *usrptr)
{
	(void)level;
	(void)usrptr;
	/* libcryptsetup's messages end in a newline already. */
	if (out_opts.verbose)
		fprintf(stderr, "cryptsetup: %s", msg);
}

void luks_setup(void)
{
	/*
	 * Without udev (the kdump initramfs has none) libdevmapper would
	 * wait forever for udev to acknowledge each new device.
	 */
	if (access(UDEV_CONTROL, F_OK) != 0)
		setenv("DM_DISABLE_UDEV", "1", 0);
	crypt_set_log_callback(NULL, log_if_verbose, NULL);
}

/*
 * Checks that @path can hold a LUKS header before libcryptsetup reads it:
 * libcryptsetup would report all of these as EINVAL.
 */
static int check_header_path(const char *path)
{
	struct stat st;

	if (stat(path, &st) < 0)
		return -errno;
	if (!S_ISBLK(st.st_mode) && !S_ISREG(st.st_mode))
		return -ENOTBLK;
	/* No LUKS header fits in less; libcryptsetup would say EIO here. */
	if (S_ISREG(st.st_mode) && st.st_size < LUKS_MIN_FILE_SIZE)
		return -EINVAL;
	if (access(path, R_OK) < 0)
		return -errno;
	return 0;
}

/* Reads the LUKS header of an initialised *@cd; frees it on failure. */
static int load_header(struct crypt_device **cd, char uuid[UUID_BUF_LEN])
{
	const char *hdr_uuid;
	int ret;

	ret = crypt_load(*cd, CRYPT_LUKS, NULL);
	if (ret < 0)
		goto fail;
	hdr_uuid = crypt_get_uuid(*cd);
	if (!hdr_uuid || !uuid_canonical(hdr_uuid, uuid)) {
		ret = -EPROTO;
		goto fail;
	}
	return 0;
fail:
	crypt_free(*cd);
	*cd = NULL;
	return ret;
}

int luks_open(const char *path, struct crypt_device **cd,
	      char uuid[UUID_BUF_LEN])
{
	int ret;

	*cd = NULL;
	ret = check_header_path(path);
	if (ret < 0)
		return ret;
	ret = crypt_init(cd, path);
	if (ret < 0) {
		*cd = NULL;
		return ret;
	}
	return load_header(cd, uuid);
}

int luks_open_detached(const char *header, const char *data,
		       struct crypt_device **cd, char uuid[UUID_BUF_LEN])
{
	int ret;

	*cd = NULL;
	ret = check_header_path(header);
	if (ret < 0)
		return ret;
	/* Said here: libcryptsetup's error would not tell which one is gone. */
	if (access(data, F_OK) < 0)
		return -ENODEV;
	ret = crypt_init_data_device(cd, header, data);
	if (ret < 0) {
		*cd = NULL;
		return ret;
	}
	return load_header(cd, uuid);
}

void luks_close(struct crypt_device *cd)
{
	crypt_free(cd);
}

/* ---- which block devices count ---- */

/* The DM UUID of dm device @name (dm-N) into @buf; "" if there is none. */
static void dm_uuid(const char *sysfs, const char *name, char *buf,
		    size_t size)
{
	char path[PATH_MAX];
	ssize_t n;
	int fd;

	buf[0] = '\0';
	if (snprintf(path, sizeof(path), "%s/%s/dm/uuid", sysfs, name) >=
	    (int)sizeof(path))
		return;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	n = read(fd, buf, size - 1);
	close(fd);
	buf[n > 0 ? n : 0] = '\0';
}

/*
 * A holder that makes the device under it one leg of a bigger device: an md
 * array, or a multipath map. Any other holder (dm-crypt on an open volume,
 * LVM) leaves the device what it is.
 */
static bool holder_is_leg_of(const char *sysfs, const char *holder)
{
	char uuid[160];

	if (strncmp(holder, "md", 2) == 0)
		return true;
	if (strncmp(holder, "dm-", 3) != 0)
		return false;
	dm_uuid(sysfs, holder, uuid, sizeof(uuid));
	return strncmp(uuid, DM_UUID_MULTIPATH, strlen(DM_UUID_MULTIPATH)) == 0;
}

static int skip_dots(const struct dirent *d)
{
	return d->d_name[0] != '.';
}

/*
 * 1 if kernel block device @kname has an md or multipath holder (its name
 * into @holder), 0 if not, -errno if its holders cannot be read.
 */
static int leg_holder(const char *sysfs, const char *kname, char *holder,
		      size_t size)
{
	char path[PATH_MAX];
	struct dirent **names;
	int i, n, found = 0;

	if (snprintf(path, sizeof(path), "%s/%s/holders", sysfs, kname) >=
	    (int)sizeof(path))
		return -ENAMETOOLONG;
	n = scandir(path, &names, skip_dots, alphasort);
	if (n < 0)
		/* The tests' stand-in lists only the devices they look at. */
		return errno == ENOENT ? 0 : -errno;
	for (i = 0; i < n; i++) {
		if (!found && holder_is_leg_of(sysfs, names[i]->d_name)) {
			snprintf(holder, size, "%s", names[i]->d_name);
			found = 1;
		}
		free(names[i]);
	}
	free(names);
	return found;
}

/* A file name into @dst; a longer one is no kernel device name. */
static int copy_name(char dst[NAME_MAX + 1], const char *src)
{
	size_t len = strlen(src);

	if (len > NAME_MAX)
		return -ENAMETOOLONG;
	memcpy(dst, src, len + 1);
	return 0;
}

/*
 * The kernel's name of block device @devno (sda1, cciss!c0d0) and, if it is
 * a partition, of its disk ("" if not): the last two parts of where its
 * /sys/dev/block link points.
 */
static int kernel_names(dev_t devno, char name[NAME_MAX + 1],
			char disk[NAME_MAX + 1])
{
	char link[64], target[PATH_MAX], part[96], *base, *parent;
	ssize_t n;

	snprintf(link, sizeof(link), SYSFS_DEV_BLOCK "/%u:%u", major(devno),
		 minor(devno));
	n = readlink(link, target, sizeof(target) - 1);
	if (n < 0)
		return -errno;
	target[n] = '\0';
	base = strrchr(target, '/');
	if (!base)
		return -EINVAL;
	*base++ = '\0';
	disk[0] = '\0';
	snprintf(part, sizeof(part), "%s/partition", link);
	if (access(part, F_OK) == 0) {
		parent = strrchr(target, '/');
		if (copy_name(disk, parent ? parent + 1 : target) < 0)
			return -ENAMETOOLONG;
	}
	return copy_name(name, base);
}

/*
 * 1 if @path is a leg of an md array or multipath map, or a partition of
 * such a leg (partitions of a mirrored disk show the same data as the
 * array's partitions), with the reason in @why; 0 if not; -errno.
 */
static int is_leg(const char *path, char *why, size_t size)
{
	const char *sysfs = getenv("CRASHKEY_SYSFS_BLOCK");
	char name[NAME_MAX + 1], disk[NAME_MAX + 1], holder[NAME_MAX + 1];
	struct stat st;
	int ret;

	if (!sysfs || !*sysfs)
		sysfs = SYSFS_BLOCK_DEFAULT;
	if (stat(path, &st) < 0)
		return -errno;
	if (!S_ISBLK(st.st_mode))
		return -ENOTBLK;
	ret = kernel_names(st.st_rdev, name, disk);
	if (ret < 0)
		return ret;
	ret = leg_holder(sysfs, name, holder, sizeof(holder));
	if (ret > 0) {
		snprintf(why, size, "%s holds it", holder);
		return 1;
	}
	if (ret < 0 || !disk[0])
		return ret;
	ret = leg_holder(sysfs, disk, holder, sizeof(holder));
	if (ret > 0)
		snprintf(why, size, "%s holds its disk %s", holder, disk);
	return ret;
}

/* ---- the list of LUKS devices ---- */

static int devlist_add(struct luks_devlist *list, const char *uuid,
		       const char *path)
{
	struct luks_dev *v;
	size_t i;

	for (i = 0; i < list->n; i++) {
		v = &list->v[i];
		if (strcmp(v->uuid, uuid) != 0)
			continue;
		/* Two are enough to refuse; a third adds nothing. */
		if (!v->other) {
			v->other = strdup(path);
			if (!v->other)
				return -ENOMEM;
		}
		return 0;
	}
	v = realloc(list->v, (list->n + 1) * sizeof(*v));
	if (!v)
		return -ENOMEM;
	list->v = v;
	v = &list->v[list->n];
	memcpy(v->uuid, uuid, UUID_BUF_LEN);
	v->other = NULL;
	v->path = strdup(path);
	if (!v->path)
		return -ENOMEM;
	list->n++;
	return 0;
}

/* The value of tag @type of @dev, or NULL; it lives as long as the cache. */
static const char *dev_tag(blkid_dev dev, const char *type)
{
	blkid_tag_iterate iter = blkid_tag_iterate_begin(dev);
	const char *name, *value, *found = NULL;

	if (!iter)
		return NULL;
	while (!found && blkid_tag_next(iter, &name, &value) == 0)
		if (strcmp(name, type) == 0)
			found = value;
	blkid_tag_iterate_end(iter);
	return found;
}

/* One device that blkid's safe probing found to be LUKS and nothing else. */
static int scan_one(struct luks_devlist *list, blkid_dev dev)
{
	const char *path = blkid_dev_devname(dev);
	const char *value = dev_tag(dev, "UUID");
	char uuid[UUID_BUF_LEN], why[2 * NAME_MAX + 32];
	int ret;

	if (!value || !uuid_canonical(value, uuid)) {
		ck_debug("%s: LUKS header without a valid UUID, skipped", path);
		return 0;
	}
	ret = is_leg(path, why, sizeof(why));
	if (ret < 0) {
		/* Might be a leg: using it could write around the array. */
		ck_warn("%s: LUKS UUID %s, skipped: cannot read its holders: "
			"%s", path, uuid, strerror(-ret));
		return 0;
	}
	if (ret > 0) {
		ck_debug("%s: LUKS UUID %s, skipped: %s", path, uuid, why);
		return 0;
	}
	ck_debug("%s: LUKS UUID %s", path, uuid);
	return devlist_add(list, uuid, path);
}

int luks_scan(struct luks_devlist *list)
{
	blkid_dev_iterate iter;
	blkid_cache cache;
	blkid_dev dev;
	int ret;

	list->v = NULL;
	list->n = 0;
	list->cache = NULL;
	/* Starts empty and is never saved: no stale blkid.tab is trusted. */
	if (blkid_get_cache(&cache, "/dev/null") < 0)
		return -ENOMEM;
	/*
	 * Probes every device in /sys/block with blkid_do_safeprobe(): one
	 * with contradicting signatures (ambiguous, -2) drops out of the
	 * cache. Fails only without /sys/block.
	 */
	if (blkid_probe_all(cache) < 0) {
		blkid_put_cache(cache);
		return -ENOENT;
	}
	iter = blkid_dev_iterate_begin(cache);
	if (!iter) {
		blkid_put_cache(cache);
		return -ENOMEM;
	}
	ret = blkid_dev_set_search(iter, "TYPE", "crypto_LUKS") ? -ENOMEM : 0;
	while (ret == 0 && blkid_dev_next(iter, &dev) == 0)
		ret = scan_one(list, dev);
	blkid_dev_iterate_end(iter);
	/* Kept: crypttab sources are looked up in the same probe. */
	list->cache = cache;
	if (ret < 0)
		luks_devlist_free(list);
	return ret;
}

const struct luks_dev *luks_devlist_find(const struct luks_devlist *list,
					 const char *uuid)
{
	size_t i;

	for (i = 0; i < list->n; i++)
		if (strcmp(list->v[i].uuid, uuid) == 0)
			return &list->v[i];
	return NULL;
}

void luks_devlist_free(struct luks_devlist *list)
{
	size_t i;

	for (i = 0; i < list->n; i++) {
		free(list->v[i].path);
		free(list->v[i].other);
	}
	free(list->v);
	list->v = NULL;
	list->n = 0;
	if (list->cache)
		blkid_put_cache(list->cache);
	list->cache = NULL;
}

char *luks_resolve_spec(struct luks_devlist *list, const char *spec)
{
	/*
	 * Without a cache of ours libblkid would read, and later write, its
	 * cache file, whose entries may be stale.
	 */
	if (!list->cache && blkid_get_cache(&list->cache, "/dev/null") < 0) {
		list->cache = NULL;
		return NULL;
	}
	return blkid_evaluate_spec(spec, &list->cache);
}

/*
 * The volume key a key slot context opens: libcryptsetup runs the key
 * slot's KDF (or the token's handler, which gives the key slot's
 * passphrase) and checks the result against the key's digest.
 */
static int key_by_context(struct crypt_device *cd,
			  struct crypt_keyslot_context *kc, struct secret *vk)
{
	int size = crypt_get_volume_key_size(cd);
	size_t vk_len;
	int ret;

	if (size <= 0)
		return -EINVAL;
	if (size > VOLUME_KEY_MAX_LEN)
		return -E2BIG;
	if (secret_alloc(vk, (size_t)size) < 0)
		return -ENOMEM;
	vk_len = (size_t)size;
	ret = crypt_volume_key_get_by_keyslot_context(cd, CRYPT_ANY_SLOT,
						      (char *)vk->data,
						      &vk_len, kc);
	if (ret >= 0) {
		vk->len = vk_len;
		/*
		 * Check once more, independently of the key slot: an unbound
		 * LUKS2 key slot can open yet hold a different key.
		 */
		ret = luks_verify_key(cd, vk);
	}
	if (ret < 0) {
		secret_free(vk);
		return ret;
	}
	return 0;
}

int luks_derive_key(struct crypt_device *cd, const struct secret *pass,
		    struct secret *vk)
{
	struct crypt_keyslot_context *kc;
	int ret;

	ret = crypt_keyslot_context_init_by_passphrase(cd,
						       (const char *)pass->data,
						       pass->len, &kc);
	if (ret < 0)
		return ret;
	ret = key_by_context(cd, kc, vk);
	crypt_keyslot_context_free(kc);
	return ret;
}

int luks_token_key(struct crypt_device *cd, int token, const char *type,
		   const struct secret *pin, struct secret *vk)
{
	const char *pin_data = pin ? (const char *)pin->data : NULL;
	size_t pin_len = pin ? pin->len : 0;
	struct crypt_keyslot_context *kc;
	int ret;

	if (token < 0)
		token = CRYPT_ANY_TOKEN;
	ret = crypt_keyslot_context_init_by_token(cd, token, type, pin_data,
						  pin_len, NULL, &kc);
	if (ret < 0)
		return ret;
	ret = key_by_context(cd, kc, vk);
	crypt_keyslot_context_free(kc);
	return ret;
}

int luks_verify_key(struct crypt_device *cd, const struct secret *key)
{
	return crypt_volume_key_verify(cd, (const char *)key->data, key->len);
}

int luks_activate(struct crypt_device *cd, const char *name,
		  const struct secret *key)
{
	return crypt_activate_by_volume_key(cd, name, (const char *)key->data,
					    key->len, 0);
}

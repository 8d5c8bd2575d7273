// SPDX-License-Identifier: GPL-2.0
/* libcryptsetup glue. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libcryptsetup.h>

#include "luks.h"
#include "output.h"

#define SYSFS_BLOCK_DEFAULT	"/sys/class/block"
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

int luks_open(const char *path, struct crypt_device **cd,
	      char uuid[UUID_BUF_LEN])
{
	struct stat st;
	const char *hdr_uuid;
	int ret;

	*cd = NULL;
	/* Check first: libcryptsetup would report all of these as EINVAL. */
	if (stat(path, &st) < 0)
		return -errno;
	if (!S_ISBLK(st.st_mode) && !S_ISREG(st.st_mode))
		return -ENOTBLK;
	/* No LUKS header fits in less; libcryptsetup would say EIO here. */
	if (S_ISREG(st.st_mode) && st.st_size < LUKS_MIN_FILE_SIZE)
		return -EINVAL;
	if (access(path, R_OK) < 0)
		return -errno;

	ret = crypt_init(cd, path);
	if (ret < 0) {
		*cd = NULL;
		return ret;
	}
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

void luks_close(struct crypt_device *cd)
{
	crypt_free(cd);
}

/* Size in sectors from <sysfs>/<name>/size; -1 if unknown. */
static long long sysfs_size(const char *sysfs, const char *name)
{
	char path[PATH_MAX], buf[32];
	ssize_t n;
	int fd;

	if (snprintf(path, sizeof(path), "%s/%s/size", sysfs, name) >=
	    (int)sizeof(path))
		return -1;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	return strtoll(buf, NULL, 10);
}

static int devlist_add(struct luks_devlist *list, const char *uuid,
		       const char *path)
{
	struct luks_dev *v;
	const char *first = luks_devlist_find(list, uuid);

	if (first) {
		ck_warn("LUKS UUID %s is on both %s and %s; using %s", uuid,
			first, path, first);
		return 0;
	}
	v = realloc(list->v, (list->n + 1) * sizeof(*v));
	if (!v)
		return -ENOMEM;
	list->v = v;
	v = &list->v[list->n];
	memcpy(v->uuid, uuid, UUID_BUF_LEN);
	v->path = strdup(path);
	if (!v->path)
		return -ENOMEM;
	list->n++;
	return 0;
}

static int skip_dots(const struct dirent *d)
{
	return d->d_name[0] != '.';
}

int luks_scan(struct luks_devlist *list)
{
	const char *sysfs = getenv("CRASHKEY_SYSFS_BLOCK");
	struct dirent **names;
	struct crypt_device *cd;
	char path[PATH_MAX], uuid[UUID_BUF_LEN];
	int i, n, ret = 0;

	list->v = NULL;
	list->n = 0;
	if (!sysfs || !*sysfs)
		sysfs = SYSFS_BLOCK_DEFAULT;
	n = scandir(sysfs, &names, skip_dots, alphasort);
	if (n < 0)
		return -errno;
	for (i = 0; i < n; i++) {
		const char *name = names[i]->d_name;

		/* Empty loop devices and drives without media: nothing to read. */
		if (sysfs_size(sysfs, name) == 0)
			continue;
		if (snprintf(path, sizeof(path), "/dev/%s", name) >=
		    (int)sizeof(path))
			continue;
		if (luks_open(path, &cd, uuid) < 0) {
			ck_debug("%s: no LUKS header", path);
			continue;
		}
		luks_close(cd);
		ck_debug("%s: LUKS UUID %s", path, uuid);
		if (ret == 0)
			ret = devlist_add(list, uuid, path);
	}
	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
	if (ret < 0)
		luks_devlist_free(list);
	return ret;
}

const char *luks_devlist_find(const struct luks_devlist *list,
			      const char *uuid)
{
	size_t i;

	for (i = 0; i < list->n; i++)
		if (strcmp(list->v[i].uuid, uuid) == 0)
			return list->v[i].path;
	return NULL;
}

void luks_devlist_free(struct luks_devlist *list)
{
	size_t i;

	for (i = 0; i < list->n; i++)
		free(list->v[i].path);
	free(list->v);
	list->v = NULL;
	list->n = 0;
}

int luks_derive_key(struct crypt_device *cd, const struct secret *pass,
		    struct secret *vk)
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
	/* Runs the key slot's KDF and checks the result against the digest. */
	ret = crypt_volume_key_get(cd, CRYPT_ANY_SLOT, (char *)vk->data,
				   &vk_len, (const char *)pass->data,
				   pass->len);
	if (ret < 0)
		goto fail;
	vk->len = vk_len;
	/*
	 * Check once more, independently of the key slot: an unbound LUKS2
	 * key slot can open with the passphrase yet hold a different key.
	 */
	ret = luks_verify_key(cd, vk);
	if (ret < 0)
		goto fail;
	return 0;
fail:
	secret_free(vk);
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

// SPDX-License-Identifier: GPL-2.0
/* The crash_key_handover configfs interface. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "configfs.h"

/* From the kernel's fs/configfs; not exported in the uapi headers. */
#define CONFIGFS_SUPER_MAGIC	0x62656570

#define ARRAY_SIZE(a)		(sizeof(a) / sizeof((a)[0]))

const char *configfs_dir(void)
{
	const char *dir = getenv("CRASHKEY_CONFIGFS");

	return dir && *dir ? dir : CONFIGFS_DEFAULT_DIR;
}

int configfs_check(void)
{
	struct stat st;

	if (stat(configfs_dir(), &st) < 0)
		return -errno;
	return S_ISDIR(st.st_mode) ? 0 : -ENOTDIR;
}

/*
 * Mainline's interface (CONFIG_CRASH_DM_CRYPT, Linux 6.16+) beside where ours
 * would be: a kernel without crashkey's patches but with mainline's feature.
 */
bool configfs_mainline_present(void)
{
	char path[PATH_MAX], *slash;
	struct stat st;

	if (snprintf(path, sizeof(path), "%s", configfs_dir()) >= (int)sizeof(path))
		return false;
	slash = strrchr(path, '/');
	if (!slash || (size_t)(slash - path) + sizeof("/" CONFIGFS_MAINLINE_NAME) > sizeof(path))
		return false;
	strcpy(slash, "/" CONFIGFS_MAINLINE_NAME);
	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/*
 * On real configfs the kernel provides the attribute files; a stand-in
 * directory needs them created, truncated, and removed with the item.
 */
static bool is_standin(void)
{
	struct statfs sfs;

	if (statfs(configfs_dir(), &sfs) < 0)
		return false;
	return sfs.f_type != CONFIGFS_SUPER_MAGIC;
}

/* <dir>/<a>[/<b>] into @buf. */
static int make_path(char buf[PATH_MAX], const char *a, const char *b)
{
	int n;

	if (b)
		n = snprintf(buf, PATH_MAX, "%s/%s/%s", configfs_dir(), a, b);
	else
		n = snprintf(buf, PATH_MAX, "%s/%s", configfs_dir(), a);
	return n < 0 || n >= PATH_MAX ? -ENAMETOOLONG : 0;
}

/* Writes @s to an attribute in a single write(), as configfs expects. */
static int write_attr(const char *path, const char *s)
{
	int flags = O_WRONLY | O_CLOEXEC;
	size_t len = strlen(s);
	ssize_t n;
	int fd, ret = 0;

	if (is_standin())
		flags |= O_CREAT | O_TRUNC;
	fd = open(path, flags, 0600);
	if (fd < 0)
		return -errno;
	/* The kernel's store method runs inside write() and sets its errno. */
	n = write(fd, s, len);
	if (n < 0)
		ret = -errno;
	else if ((size_t)n != len)
		ret = -EIO;
	if (close(fd) < 0 && ret == 0)
		ret = -errno;
	return ret;
}

/* Reads a small attribute, without its trailing newline. */
static int read_attr(const char *path, char *buf, size_t size)
{
	ssize_t n;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, size - 1);
	close(fd);
	if (n < 0)
		return -errno;
	buf[n] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	return 0;
}

int configfs_item_create(const char *uuid, bool *created)
{
	char path[PATH_MAX];
	int ret = make_path(path, uuid, NULL);

	*created = false;
	if (ret < 0)
		return ret;
	if (mkdir(path, 0700) == 0) {
		*created = true;
		return 0;
	}
	return errno == EEXIST ? 0 : -errno;
}

/* The files configfs shows in an item, which rmdir takes along. */
static const char *const item_attrs[] = { "description", "handed_over" };

/* A stand-in's copies of them, which would keep rmdir from working. */
static int remove_standin_attrs(const char *uuid)
{
	char path[PATH_MAX];
	size_t i;
	int ret;

	for (i = 0; i < ARRAY_SIZE(item_attrs); i++) {
		ret = make_path(path, uuid, item_attrs[i]);
		if (ret < 0)
			return ret;
		if (unlink(path) < 0 && errno != ENOENT)
			return -errno;
	}
	return 0;
}

int configfs_item_remove(const char *uuid)
{
	char path[PATH_MAX];
	int ret;

	if (is_standin()) {
		ret = remove_standin_attrs(uuid);
		if (ret < 0)
			return ret;
	}
	ret = make_path(path, uuid, NULL);
	if (ret < 0)
		return ret;
	return rmdir(path) < 0 ? -errno : 0;
}

bool configfs_item_exists(const char *uuid)
{
	char path[PATH_MAX];
	struct stat st;

	return make_path(path, uuid, NULL) == 0 && stat(path, &st) == 0 &&
	       S_ISDIR(st.st_mode);
}

int configfs_item_set_description(const char *uuid, const char *desc)
{
	char path[PATH_MAX];
	int ret = make_path(path, uuid, "description");

	return ret < 0 ? ret : write_attr(path, desc);
}

int configfs_item_get_description(const char *uuid,
				  char desc[KEY_DESC_MAX_LEN + 1])
{
	char path[PATH_MAX];
	int ret = make_path(path, uuid, "description");

	/* One byte more than a description, for the kernel's newline. */
	char buf[KEY_DESC_MAX_LEN + 2];

	if (ret < 0)
		return ret;
	ret = read_attr(path, buf, sizeof(buf));
	if (ret < 0)
		return ret;
	if (strlen(buf) > KEY_DESC_MAX_LEN)
		return -EOVERFLOW;
	memcpy(desc, buf, strlen(buf) + 1);
	return 0;
}

static int only_uuids(const struct dirent *d)
{
	return uuid_is_canonical(d->d_name);
}

int configfs_items(char ***uuids, size_t *n)
{
	struct dirent **ents;
	char **v;
	int i, count;

	*uuids = NULL;
	*n = 0;
	count = scandir(configfs_dir(), &ents, only_uuids, alphasort);
	if (count < 0)
		return -errno;
	v = calloc((size_t)count + 1, sizeof(*v));
	for (i = 0; i < count; i++) {
		if (v) {
			v[i] = strdup(ents[i]->d_name);
			if (!v[i]) {
				configfs_free_items(v, (size_t)i);
				v = NULL;
			}
		}
		free(ents[i]);
	}
	free(ents);
	if (!v)
		return -ENOMEM;
	*uuids = v;
	*n = (size_t)count;
	return 0;
}

void configfs_free_items(char **uuids, size_t n)
{
	size_t i;

	if (!uuids)
		return;
	for (i = 0; i < n; i++)
		free(uuids[i]);
	free(uuids);
}

static int read_long(const char *name, long *v)
{
	char path[PATH_MAX], buf[32], *end;
	int ret = make_path(path, name, NULL);

	if (ret < 0)
		return ret;
	ret = read_attr(path, buf, sizeof(buf));
	if (ret < 0)
		return ret;
	errno = 0;
	*v = strtol(buf, &end, 10);
	if (errno || end == buf)
		return -EPROTO;
	return 0;
}

int configfs_read_count(long *count)
{
	return read_long("count", count);
}

int configfs_read_reuse(long *reuse)
{
	return read_long("reuse", reuse);
}

static const char *const handover_names[] = {
	[HANDOVER_UNKNOWN] = "unknown",
	[HANDOVER_NO] = "no",
	[HANDOVER_YES] = "yes",
	[HANDOVER_STALE] = "stale",
};

const char *handover_state_name(enum handover_state state)
{
	return handover_names[state];
}

/* Anything but the three words the kernel writes is unknown, not an error. */
enum handover_state configfs_item_handed_over(const char *uuid)
{
	char path[PATH_MAX], buf[16];
	size_t s;

	if (make_path(path, uuid, "handed_over") < 0 ||
	    read_attr(path, buf, sizeof(buf)) < 0)
		return HANDOVER_UNKNOWN;
	for (s = HANDOVER_NO; s < ARRAY_SIZE(handover_names); s++)
		if (strcmp(buf, handover_names[s]) == 0)
			return (enum handover_state)s;
	return HANDOVER_UNKNOWN;
}

/* "COUNT DIGEST", or "0 -" when the kernel keeps no blob. */
int configfs_read_handover(struct handover *h)
{
	char path[PATH_MAX], buf[96], *digest;
	int ret = make_path(path, "handed_over", NULL);

	if (ret < 0)
		return ret;
	ret = read_attr(path, buf, sizeof(buf));
	if (ret < 0)
		return ret;
	/* strtol() would take " 2" and "-2" too. */
	if (*buf < '0' || *buf > '9')
		return -EPROTO;
	errno = 0;
	h->count = strtol(buf, &digest, 10);
	if (errno || *digest++ != ' ')
		return -EPROTO;
	h->digest[0] = '\0';
	if (h->count == 0)
		return strcmp(digest, "-") == 0 ? 0 : -EPROTO;
	if (strlen(digest) != HANDOVER_DIGEST_LEN ||
	    strspn(digest, "0123456789abcdef") != HANDOVER_DIGEST_LEN)
		return -EPROTO;
	memcpy(h->digest, digest, HANDOVER_DIGEST_LEN + 1);
	return 0;
}

int configfs_restore(bool *no_interface)
{
	char path[PATH_MAX];
	ssize_t n;
	int fd, ret = make_path(path, "restore", NULL);

	*no_interface = false;
	if (ret < 0)
		return ret;
	/* Never created, not even in a stand-in: its absence means something. */
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0) {
		*no_interface = true;
		return -errno;
	}
	n = write(fd, "1", 1);
	ret = n == 1 ? 0 : n < 0 ? -errno : -EIO;
	if (close(fd) < 0 && ret == 0)
		ret = -errno;
	return ret;
}

// SPDX-License-Identifier: GPL-2.0
/*
 * What each command does, built from the configfs, keys and luks modules.
 *
 * Running kernel:  add, remove, list, status
 * Capture kernel:  unlock (and status)
 */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "commands.h"
#include "configfs.h"
#include "crypttab.h"
#include "kdump.h"
#include "keys.h"
#include "luks.h"
#include "output.h"

#define PROC_VMCORE		"/proc/vmcore"

/* ---- messages shared by several commands ---- */

/* Why the configfs directory is missing, in the words a user needs. */
static void report_no_configfs(int err)
{
	if (err == -ENOENT && configfs_mainline_present())
		ck_error("%s does not exist, but mainline's %s does: this kernel "
			 "has Linux's own CONFIG_CRASH_DM_CRYPT, not crashkey's "
			 "CONFIG_CRASH_KEY_HANDOVER. crashkey cannot register, "
			 "hand over or restore keys with it (its keys stay in the "
			 "keyring after a load, and its kdump kernel reads another "
			 "format): use that kernel's own kdump tooling, or a "
			 "kernel with the crashkey patches", configfs_dir(),
			 CONFIGFS_MAINLINE_NAME);
	else if (err == -ENOENT)
		ck_error("%s does not exist: kernel has no crash_key_handover "
			 "support (CONFIG_CRASH_KEY_HANDOVER) or configfs not "
			 "mounted at /sys/kernel/config", configfs_dir());
	else
		ck_error("%s: %s", configfs_dir(), strerror(-err));
}

static void report_open_error(const char *path, int err)
{
	switch (-err) {
	case ENOENT:
		ck_error("%s: no such file or device", path);
		break;
	case ENOTBLK:
		ck_error("%s: not a block device or an image file", path);
		break;
	case EINVAL:
		ck_error("%s: not a LUKS device (no valid LUKS header)", path);
		break;
	case EPROTO:
		ck_error("%s: the LUKS header holds no valid UUID", path);
		break;
	default:
		ck_error("%s: cannot read the LUKS header: %s", path,
			 strerror(-err));
		break;
	}
}

/* Errors from creating an item or writing its description. */
static void report_configfs_error(int err, const char *uuid,
				  const char *desc, bool writing_desc)
{
	switch (-err) {
	case ENOENT:
		if (writing_desc)
			ck_error("item %s/%s has no description attribute",
				 configfs_dir(), uuid);
		else
			report_no_configfs(err);
		break;
	case ENOKEY:
		ck_error("the kernel found no logon key \"%s\" in the caller's "
			 "keyrings", desc);
		break;
	case EKEYREJECTED:
		ck_error("a key \"%s\" exists but is not of type logon, the "
			 "only type the kernel hands over", desc);
		break;
	case EINVAL:
		if (writing_desc)
			ck_error("the kernel rejected description \"%s\" or "
				 "the key size (description 1 to %d characters,"
				 " key 1 to %d bytes)", desc, KEY_DESC_MAX_LEN,
				 VOLUME_KEY_MAX_LEN);
		else
			ck_error("the kernel rejected the item name %s", uuid);
		break;
	case ENOSPC:
		ck_error("the kernel already holds as many volume keys as it "
			 "can hand over (1024)");
		break;
	case EACCES:
	case EPERM:
		ck_error("%s: permission denied (crashkey must run as root)",
			 configfs_dir());
		break;
	default:
		ck_error("cannot %s %s/%s: %s",
			 writing_desc ? "write the description of" : "create",
			 configfs_dir(), uuid, strerror(-err));
		break;
	}
}

/*
 * A crash kernel carries the keys as they were when it was loaded: a change
 * to the items after that reaches it only with a reload. Says so when one is
 * loaded and @item (an item was added or removed), and returns whether.
 */
static bool note_reload(bool item)
{
	if (!item || kdump_crash_loaded() != 1)
		return false;
	ck_note("the loaded crash kernel does not carry this change yet; "
		"reload it (with kdump-tools: systemctl restart kdump-tools)");
	return true;
}

/*
 * add and remove with --json: one object saying what was done. @device
 * may be NULL (remove by UUID).
 */
static void print_done_json(const char *action, const char *uuid,
			    const char *device, const char *desc, bool item,
			    bool key, bool reload)
{
	struct json_object *obj;
	int err;

	if (!out_opts.json)
		return;
	obj = json_object_new_object();
	if (!obj) {
		ck_json_print(NULL, -1);
		return;
	}
	err = ck_json_add_string(obj, "action", action);
	err |= ck_json_add_string(obj, "uuid", uuid);
	err |= ck_json_add_string(obj, "device", device);
	err |= ck_json_add_string(obj, "description", desc);
	err |= ck_json_add_bool(obj, "item", item);
	err |= ck_json_add_bool(obj, "key", key);
	err |= ck_json_add_bool(obj, "reload_needed", reload);
	ck_json_print(obj, err);
}

/* ---- finding the volume an argument names ---- */

/* Two devices claim one LUKS UUID: crashkey does not guess which is it. */
static void report_duplicate(const struct luks_dev *d)
{
	ck_error("LUKS UUID %s is on both %s and %s; not choosing one (a "
		 "copied disk, or the paths of a multipath disk without its "
		 "map?): name the device instead", d->uuid, d->path, d->other);
}

/* The one block device with LUKS UUID @uuid, malloc'd into *@path. */
static int find_device(const char *uuid, char **path)
{
	const struct luks_dev *d;
	struct luks_devlist devs;
	int ret = luks_scan(&devs);

	if (ret < 0) {
		ck_error("cannot list block devices: %s", strerror(-ret));
		return ret;
	}
	d = luks_devlist_find(&devs, uuid);
	if (!d) {
		ck_error("no block device holds a LUKS volume with UUID %s",
			 uuid);
		ret = -ENODEV;
	} else if (d->other) {
		report_duplicate(d);
		ret = -ENOTUNIQ;
	} else {
		*path = strdup(d->path);
		if (!*path) {
			ck_error("out of memory");
			ret = -ENOMEM;
		}
	}
	luks_devlist_free(&devs);
	return ret;
}

/*
 * Opens the LUKS header that a DEVICE|UUID argument names. An existing
 * path always wins, so a file that happens to be named like a UUID works.
 * On success *@path is the device (malloc'd) and @uuid its UUID.
 */
static int open_target(const char *arg, struct crypt_device **cd,
		       char uuid[UUID_BUF_LEN], char **path)
{
	char wanted[UUID_BUF_LEN];
	bool by_uuid;
	struct stat st;
	int ret;

	*path = NULL;
	by_uuid = stat(arg, &st) < 0 && uuid_canonical(arg, wanted);
	if (by_uuid) {
		ret = find_device(wanted, path);
		if (ret < 0)
			return ret;
	} else {
		*path = strdup(arg);
		if (!*path) {
			ck_error("out of memory");
			return -ENOMEM;
		}
	}
	ret = luks_open(*path, cd, uuid);
	if (ret < 0) {
		report_open_error(*path, ret);
	} else if (by_uuid && strcmp(uuid, wanted) != 0) {
		/* blkid read one header, libcryptsetup the other (LUKS2). */
		ck_error("%s: blkid reported LUKS UUID %s but the header holds "
			 "%s", *path, wanted, uuid);
		luks_close(*cd);
		*cd = NULL;
		ret = -ESTALE;
	}
	if (ret < 0) {
		free(*path);
		*path = NULL;
	}
	return ret;
}

/* ---- add ---- */

static void report_derive_error(const char *path, int err)
{
	switch (-err) {
	case EPERM:
		ck_error("%s: no key slot matches this passphrase", path);
		break;
	case E2BIG:
		ck_error("%s: the volume key is longer than the %d bytes the "
			 "kernel hands over", path, VOLUME_KEY_MAX_LEN);
		break;
	case ENOMEM:
		ck_error("%s: not enough memory to run the key slot's key "
			 "derivation", path);
		break;
	case ENOENT:
		ck_error("%s: the LUKS header has no usable key slot", path);
		break;
	default:
		ck_error("%s: cannot get the volume key: %s", path,
			 strerror(-err));
		break;
	}
}

/*
 * The volume key from the user key @spec names (--volume-key-keyring), used
 * only if the LUKS header confirms it. The user key stays where it is: it is
 * the admin's, and other things (cryptsetup resume) may need it.
 */
static int vk_from_keyring(struct crypt_device *cd, const char *path,
			   const char *spec, struct secret *vk)
{
	key_id id = keys_lookup(spec);
	int ret;

	if (id == -EINVAL) {
		ck_error("invalid --volume-key-keyring \"%s\": give %%user:DESC, "
			 "DESC or a key serial number", spec);
		return id;
	}
	if (id < 0) {
		ck_error("no key \"%s\" in the session or user keyring: %s",
			 spec, strerror(-id));
		return id;
	}
	ret = keys_read(id, vk);
	if (ret == -EOPNOTSUPP || ret == -EACCES) {
		ck_error("key \"%s\" cannot be read (a logon key?): crashkey "
			 "checks a volume key against the LUKS header before "
			 "using it, so it must be a user key (%%user:)", spec);
		return ret;
	}
	if (ret < 0) {
		ck_error("cannot read key \"%s\": %s", spec,
			 ret == -E2BIG ? "longer than any volume key"
				       : strerror(-ret));
		return ret;
	}
	ret = luks_verify_key(cd, vk);
	if (ret < 0) {
		secret_free(vk);
		ck_error("%s: key \"%s\" is not this volume's volume key "
			 "(checked against its LUKS header)", path, spec);
		return ret;
	}
	ck_note("key \"%s\" still holds the volume key: unlink it once "
		"nothing else needs it", spec);
	return 0;
}

static void report_token_error(const char *path, int err)
{
	switch (-err) {
	case ENOENT:
	case EINVAL:
		ck_error("%s: no usable LUKS2 token (none of this ID or type, "
			 "or no handler for its type: systemd's TPM2 and FIDO2 "
			 "tokens need their libcryptsetup plugins)", path);
		break;
	case EPERM:
		ck_error("%s: no token opened a key slot (its secret is "
			 "missing or wrong: keyring key, PIN, TPM or FIDO2 "
			 "device)", path);
		break;
	case EAGAIN:
		ck_error("%s: the token's device is not there", path);
		break;
	default:
		report_derive_error(path, err);
		break;
	}
}

/* A passphrase or PIN (@what) for @path, from where the options say. */
static bool read_secret(const struct add_args *args, const char *what,
			const char *path, struct secret *s)
{
	char prompt[300];

	snprintf(prompt, sizeof(prompt), "Enter %s for %s: ", what, path);
	return secret_read_passphrase(s, args->source, args->key_file, prompt);
}

/*
 * The volume key through a LUKS2 token. A token that wants a PIN (-ENOANO)
 * gets one, read the way a passphrase is read.
 */
static int vk_from_token(const struct add_args *args, struct crypt_device *cd,
			 const char *path, struct secret *vk)
{
	struct secret pin = { 0 };
	int ret;

	ret = luks_token_key(cd, args->token_id, args->token_type, NULL, vk);
	if (ret == -ENOANO) {
		if (!read_secret(args, "token PIN", path, &pin))
			return -EINVAL;
		ret = luks_token_key(cd, args->token_id, args->token_type,
				     &pin, vk);
		secret_free(&pin);
	}
	if (ret < 0)
		report_token_error(path, ret);
	return ret;
}

/* The volume key from what the admin gave: a passphrase, a token, a user key. */
static int get_volume_key(const struct add_args *args, struct crypt_device *cd,
			  const char *path, struct secret *vk)
{
	struct secret pass = { 0 };
	int ret;

	if (args->vk_keyring)
		return vk_from_keyring(cd, path, args->vk_keyring, vk);
	if (args->token)
		return vk_from_token(args, cd, path, vk);
	if (!read_secret(args, "passphrase", path, &pass))
		return -EINVAL;
	ret = luks_derive_key(cd, &pass, vk);
	secret_free(&pass);
	if (ret < 0)
		report_derive_error(path, ret);
	return ret;
}

/* Takes back a logon key that this run added; keeps one it only updated. */
static void undo_logon_key(key_id id, bool existed, const char *desc)
{
	int ret;

	if (existed) {
		ck_warn("left logon key \"%s\" in the user keyring: it was "
			"there before", desc);
		return;
	}
	ret = keys_drop(id);
	if (ret < 0)
		ck_warn("cannot remove logon key \"%s\": %s", desc,
			strerror(-ret));
}

/*
 * Tells the kernel about the logon key: creates the item (or reuses it)
 * and writes the description, undoing the item on failure.
 */
static int register_item(const char *uuid, const char *desc)
{
	bool created;
	int ret, undo;

	ret = configfs_item_create(uuid, &created);
	if (ret < 0) {
		report_configfs_error(ret, uuid, desc, false);
		return ret;
	}
	ret = configfs_item_set_description(uuid, desc);
	if (ret < 0) {
		report_configfs_error(ret, uuid, desc, true);
		if (created) {
			undo = configfs_item_remove(uuid);
			if (undo < 0)
				ck_warn("cannot remove item %s/%s again: %s",
					configfs_dir(), uuid, strerror(-undo));
		}
	}
	return ret;
}

int cmd_add(const struct add_args *args)
{
	char uuid[UUID_BUF_LEN], desc[KEY_DESC_MAX_LEN + 1];
	struct secret vk = { 0 };
	struct crypt_device *cd = NULL;
	key_id old, id;
	const char *why;
	char *path = NULL;
	int ret, rc = EXIT_FAILED;

	if (open_target(args->target, &cd, uuid, &path) < 0)
		goto out;
	if (args->description) {
		why = desc_check(args->description, uuid);
		if (why) {
			ck_error("invalid description \"%s\": %s",
				 args->description, why);
			goto out;
		}
		snprintf(desc, sizeof(desc), "%s", args->description);
	} else {
		desc_default(uuid, desc);
	}
	/* Before asking for a passphrase: no point without kernel support. */
	ret = configfs_check();
	if (ret < 0) {
		report_no_configfs(ret);
		goto out;
	}
	if (get_volume_key(args, cd, path, &vk) < 0)
		goto out;

	old = keys_find("logon", desc);
	id = keys_add_logon(desc, &vk);
	secret_free(&vk);
	if (id < 0) {
		ck_error("cannot add logon key \"%s\" to the user keyring: %s",
			 desc, strerror(-id));
		goto out;
	}
	if (register_item(uuid, desc) < 0) {
		undo_logon_key(id, old > 0, desc);
		goto out;
	}
	ck_info("added %s %s as %s", uuid, path, desc);
	print_done_json("added", uuid, path, desc, true, true,
			note_reload(true));
	rc = EXIT_OK;
out:
	secret_free(&vk);
	if (cd)
		luks_close(cd);
	free(path);
	return rc;
}

/* ---- remove ---- */

/*
 * The UUID a remove argument names. A UUID is taken as it is, so a volume
 * whose disk is gone can still be removed; a path is read for its header.
 */
static int target_uuid(const char *arg, char uuid[UUID_BUF_LEN])
{
	struct crypt_device *cd;
	struct stat st;
	int ret;

	if (stat(arg, &st) < 0 && uuid_canonical(arg, uuid))
		return 0;
	ret = luks_open(arg, &cd, uuid);
	if (ret < 0) {
		report_open_error(arg, ret);
		return ret;
	}
	luks_close(cd);
	return 0;
}

int cmd_remove(const char *target)
{
	char uuid[UUID_BUF_LEN], desc[KEY_DESC_MAX_LEN + 1];
	bool have_item;
	key_id id;
	int ret;

	if (target_uuid(target, uuid) < 0)
		return EXIT_FAILED;
	ret = configfs_check();
	if (ret < 0) {
		report_no_configfs(ret);
		return EXIT_FAILED;
	}
	have_item = configfs_item_exists(uuid);
	if (!have_item || configfs_item_get_description(uuid, desc) < 0 ||
	    !desc[0])
		desc_default(uuid, desc);
	id = keys_find("logon", desc);
	if (!have_item && id <= 0) {
		ck_error("%s is not registered: no item %s/%s and no logon key "
			 "\"%s\"", uuid, configfs_dir(), uuid, desc);
		return EXIT_FAILED;
	}
	if (have_item) {
		ret = configfs_item_remove(uuid);
		if (ret < 0) {
			/* Keep the key: the kernel still refers to it. */
			ck_error("cannot remove %s/%s: %s", configfs_dir(),
				 uuid, strerror(-ret));
			return EXIT_FAILED;
		}
	}
	if (id > 0) {
		ret = keys_drop(id);
		if (ret < 0) {
			ck_error("removed %s but not its logon key \"%s\": %s",
				 uuid, desc, strerror(-ret));
			return EXIT_FAILED;
		}
	}
	if (!have_item)
		ck_info("removed leftover logon key %s of unregistered %s",
			desc, uuid);
	else if (id > 0)
		ck_info("removed %s and logon key %s", uuid, desc);
	else
		ck_info("removed %s (its logon key %s was already gone)", uuid,
			desc);
	print_done_json("removed", uuid, NULL, desc, have_item, id > 0,
			note_reload(have_item));
	return EXIT_OK;
}

/* ---- list and status ---- */

struct item {
	char uuid[UUID_BUF_LEN];
	char desc[KEY_DESC_MAX_LEN + 1];	/* "" if unreadable */
	bool key_present;
	const char *device;			/* points into the devlist */
	enum handover_state handed_over;
};

/* The device of a registered volume, for list and status; NULL if not one. */
static const char *item_device(const struct luks_devlist *devs,
			       const char *uuid)
{
	const struct luks_dev *d = luks_devlist_find(devs, uuid);

	if (d && d->other) {
		ck_warn("LUKS UUID %s is on both %s and %s; no device shown",
			uuid, d->path, d->other);
		return NULL;
	}
	return d ? d->path : NULL;
}

/* Every registered item, with its key and device looked up. */
static int collect_items(struct item **items, size_t *n,
			 struct luks_devlist *devs)
{
	char **uuids;
	size_t i, count;
	int ret;

	*items = NULL;
	*n = 0;
	ret = configfs_items(&uuids, &count);
	if (ret < 0)
		return ret;
	/* Only scan the disks when there is something to look up. */
	if (count > 0 && luks_scan(devs) < 0)
		ck_warn("cannot list block devices; devices are not shown");
	*items = calloc(count ? count : 1, sizeof(**items));
	if (!*items) {
		configfs_free_items(uuids, count);
		return -ENOMEM;
	}
	for (i = 0; i < count; i++) {
		struct item *it = &(*items)[i];

		memcpy(it->uuid, uuids[i], UUID_BUF_LEN);
		if (configfs_item_get_description(it->uuid, it->desc) < 0)
			it->desc[0] = '\0';
		it->key_present = it->desc[0] &&
				  keys_find("logon", it->desc) > 0;
		it->device = item_device(devs, it->uuid);
		it->handed_over = configfs_item_handed_over(it->uuid);
	}
	configfs_free_items(uuids, count);
	*n = count;
	return 0;
}

/* One element of "items". */
static struct json_object *item_json(const struct item *item)
{
	struct json_object *obj = json_object_new_object();
	int err;

	if (!obj)
		return NULL;
	err = ck_json_add_string(obj, "uuid", item->uuid);
	err |= ck_json_add_string(obj, "description",
				  item->desc[0] ? item->desc : NULL);
	err |= ck_json_add_bool(obj, "key_present", item->key_present);
	err |= ck_json_add_string(obj, "device", item->device);
	err |= ck_json_add_string(obj, "handed_over",
				  item->handed_over == HANDOVER_UNKNOWN ? NULL :
				  handover_state_name(item->handed_over));
	if (err) {
		json_object_put(obj);
		return NULL;
	}
	return obj;
}

/* The "items" member of list and status. */
static int items_json(struct json_object *obj, const struct item *items,
		      size_t n)
{
	struct json_object *array = json_object_new_array();
	size_t i;
	int err = 0;

	if (!array)
		return -1;
	for (i = 0; i < n && !err; i++)
		err = ck_json_append(array, item_json(&items[i]));
	if (err) {
		json_object_put(array);
		return -1;
	}
	return ck_json_add(obj, "items", array);
}

static void print_items(const struct item *items, size_t n)
{
	size_t i, w = strlen("DEVICE");

	if (n == 0) {
		printf("no volumes registered\n");
		return;
	}
	for (i = 0; i < n; i++)
		if (items[i].device && strlen(items[i].device) > w)
			w = strlen(items[i].device);
	printf("%-36s  %-7s  %-8s  %-*s  %s\n", "UUID", "KEY", "HANDOVER",
	       (int)w, "DEVICE", "DESCRIPTION");
	for (i = 0; i < n; i++)
		printf("%-36s  %-7s  %-8s  %-*s  %s\n", items[i].uuid,
		       items[i].key_present ? "present" : "missing",
		       handover_state_name(items[i].handed_over), (int)w,
		       items[i].device ? items[i].device : "-",
		       items[i].desc[0] ? items[i].desc : "-");
}

static void print_list_json(const struct item *items, size_t n)
{
	struct json_object *obj = json_object_new_object();
	int err;

	if (!obj) {
		ck_json_print(NULL, -1);
		return;
	}
	err = ck_json_add_string(obj, "configfs", configfs_dir());
	err |= items_json(obj, items, n);
	ck_json_print(obj, err);
}

int cmd_list(void)
{
	struct luks_devlist devs = { 0 };
	struct item *items;
	size_t n;
	int ret;

	ret = configfs_check();
	if (ret < 0) {
		report_no_configfs(ret);
		return EXIT_FAILED;
	}
	ret = collect_items(&items, &n, &devs);
	if (ret < 0) {
		ck_error("cannot list %s: %s", configfs_dir(), strerror(-ret));
		return EXIT_FAILED;
	}
	if (out_opts.json)
		print_list_json(items, n);
	else
		print_items(items, n);
	free(items);
	luks_devlist_free(&devs);
	return EXIT_OK;
}

static const char *yes_no_unknown(int v)
{
	return v > 0 ? "yes" : v == 0 ? "no" : "unknown";
}

/* The checks of status, in the order they are shown. */
enum {
	CHECK_HANDOVER, CHECK_RESERVATION, CHECK_KEXEC_ARGS, CHECK_KDUMP_BOOT,
	CHECK_KDUMP_INITRD,
	NR_CHECKS
};

/* What status reports besides the items; -1 where unknown. */
struct status {
	bool supported;
	bool capture;
	int loaded;
	long count;
	long reuse;
	bool handover_known;		/* the kernel has handed_over */
	struct handover handover;
	struct check checks[NR_CHECKS];
};

/* A check names at most this many volumes, so that it stays one line. */
#define CHECK_UUIDS	3
#define UUID_LIST_LEN	(CHECK_UUIDS * (UUID_TEXT_LEN + 2) + 32)

/*
 * Adds the @found'th name to @list ("A, B, C and 2 more"): the first
 * CHECK_UUIDS by name, the rest counted by list_end(). A name too long for
 * the list is cut short, never written past it.
 */
static void list_add(char list[UUID_LIST_LEN], size_t *len, size_t found,
		     const char *name)
{
	int n;

	if (found >= CHECK_UUIDS || *len >= UUID_LIST_LEN - 1)
		return;
	n = snprintf(list + *len, UUID_LIST_LEN - *len, "%s%s",
		     found ? ", " : "", name);
	if (n > 0)
		*len = *len + (size_t)n < UUID_LIST_LEN ? *len + (size_t)n :
							  UUID_LIST_LEN - 1;
}

static void list_end(char list[UUID_LIST_LEN], size_t len, size_t found)
{
	if (found > CHECK_UUIDS && len < UUID_LIST_LEN - 1)
		snprintf(list + len, UUID_LIST_LEN - len, " and %zu more",
			 found - CHECK_UUIDS);
}

/*
 * How many items are in @state; @list names them ("UUID, UUID, UUID and 2
 * more").
 */
static size_t items_in_state(const struct item *items, size_t n,
			     enum handover_state state,
			     char list[UUID_LIST_LEN])
{
	size_t i, len = 0, found = 0;

	list[0] = '\0';
	for (i = 0; i < n; i++) {
		if (items[i].handed_over != state)
			continue;
		list_add(list, &len, found++, items[i].uuid);
	}
	list_end(list, len, found);
	return found;
}

/* Why the handover check cannot be made; NULL if it can. */
static const char *handover_unknowable(const struct status *st)
{
	if (!st->supported && configfs_mainline_present())
		return "the kernel has mainline's CONFIG_CRASH_DM_CRYPT, not "
		       "crashkey's hand-over";
	if (!st->supported)
		return "the kernel has no crash_key_handover support";
	if (st->loaded < 0)
		return "unknown whether a crash kernel is loaded (no "
		       "/sys/kernel/kexec_crash_loaded)";
	if (!st->handover_known)
		return "the kernel does not say what the loaded crash kernel "
		       "carries (no handed_over attribute: an older kernel)";
	return NULL;
}

/*
 * Whether the loaded crash kernel carries the key of every registered
 * volume, as the kernel last handed it over, and no other key.
 */
static void check_handover(struct check *c, const struct status *st,
			   const struct item *items, size_t n)
{
	char list[UUID_LIST_LEN];
	const char *why = handover_unknowable(st);
	size_t carried;

	c->name = "handover";
	/* A self-test that cannot tell must not pass. */
	if (!st->supported) {
		check_fail(c, "%s", why);
		return;
	}
	/* Unarmed kdump is what this check is there to catch. */
	if (st->loaded == 0 && n > 0) {
		check_fail(c, "no crash kernel is loaded: a crash now saves no "
			   "dump; load it (systemctl restart kdump-tools)");
		return;
	}
	if (st->loaded == 0) {
		check_set(c, CHECK_NA, "no crash kernel is loaded and no volume "
			  "is registered");
		return;
	}
	if (why) {
		check_fail(c, "%s", why);
		return;
	}
	if (items_in_state(items, n, HANDOVER_UNKNOWN, list) > 0) {
		check_fail(c, "the kernel does not say whether the loaded "
			   "crash kernel carries the keys of %s", list);
		return;
	}
	if (st->handover.count == 0 && n > 0) {
		check_fail(c, "the loaded crash kernel carries none of the %zu "
			   "registered keys: loaded without kexec -s "
			   "(kexec_file_load)? Register and load them again: "
			   "systemctl restart crashkey kdump-tools", n);
		return;
	}
	if (items_in_state(items, n, HANDOVER_NO, list) > 0)
		check_fail(c, "registered after the load, reload needed: %s",
			   list);
	carried = items_in_state(items, n, HANDOVER_STALE, list);
	if (carried > 0)
		check_fail(c, "registered again since the load, reload "
			   "needed: %s", list);
	carried += items_in_state(items, n, HANDOVER_YES, list);
	/* A removed item's key stays in the blob until the next load. */
	if (st->handover.count > (long)carried)
		check_fail(c, "the crash region still holds %ld key%s of "
			   "removed volumes, until the next load or unload",
			   st->handover.count - (long)carried,
			   st->handover.count - (long)carried == 1 ? "" : "s");
	if (c->verdict != CHECK_FAILED)
		check_set(c, CHECK_OK, "the loaded crash kernel carries the "
			  "keys of all %zu registered volumes", n);
}

/* The LUKS UUID of a resolved crypttab entry's volume, or NULL. */
static const char *entry_uuid(const struct crypttab_entry *e,
			      const struct luks_devlist *devs)
{
	size_t i;

	if (e->header)
		return e->header_uuid[0] ? e->header_uuid : NULL;
	for (i = 0; e->device && i < devs->n; i++)
		if (!strcmp(devs->v[i].path, e->device))
			return devs->v[i].uuid;
	return NULL;
}

static bool registered(const char *uuid, const struct item *items, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!strcmp(items[i].uuid, uuid))
			return true;
	return false;
}

/*
 * kdump-tools' capture boot is a full early boot, which would open every
 * crypttab volume; crashkey's generator leaves there closed each one that was
 * not handed over (a prompt nobody answers, or its KDF in the reservation).
 * Which volumes that the system opens at boot would the dump not see, and
 * which of them asks for a passphrase (crashkey-setup asks for it only if
 * CRASHKEY_VOLUMES names it)?
 */
static void check_kdump_boot(struct check *c, struct crypttab *tab,
			     struct luks_devlist *devs,
			     const struct item *items, size_t n)
{
	char closed[UUID_LIST_LEN] = "";
	size_t i, len = 0, count = 0;
	const char *uuid;

	c->name = "kdump-boot";
	if (!tab) {
		check_set(c, CHECK_NA, "cannot read %s", CRYPTTAB_DEFAULT);
		return;
	}
	/* status scans the devices only where the kernel has the feature. */
	if (!devs->n && luks_scan(devs) < 0)
		ck_warn("cannot scan the block devices for LUKS volumes");
	crypttab_resolve(tab, devs);
	for (i = 0; i < tab->n; i++) {
		if (!tab->v[i].opened_at_boot)
			continue;
		uuid = entry_uuid(&tab->v[i], devs);
		if (!uuid || registered(uuid, items, n))
			continue;
		if (tab->v[i].asked_at_boot)
			check_fail(c, "%s (%s:%u) asks for a passphrase at boot "
				   "and is not handed over: the kdump boot "
				   "leaves it closed; name it in "
				   "CRASHKEY_VOLUMES, or mark it noauto",
				   tab->v[i].name, CRYPTTAB_DEFAULT,
				   tab->v[i].line);
		list_add(closed, &len, count++, tab->v[i].name);
	}
	list_end(closed, len, count);
	if (c->verdict == CHECK_FAILED)
		return;
	if (count)
		check_set(c, CHECK_OK, "the kdump boot opens every handed-over "
			  "volume and leaves closed %zu not handed over: %s",
			  count, closed);
	else
		check_set(c, CHECK_OK, "the kdump boot opens every LUKS volume "
			  "in %s that is opened at boot", CRYPTTAB_DEFAULT);
}

/* What crashkey's initramfs hook copies into the kdump initrd. */
static void check_kdump_initrd(struct check *c, const struct crypttab *tab)
{
	const char **inputs;
	size_t i, n = 0;

	inputs = calloc(2 + (tab ? tab->n : 0), sizeof(*inputs));
	if (!inputs) {
		check_fail(c, "out of memory");
		return;
	}
	inputs[n++] = CRASHKEY_DEFAULT;
	inputs[n++] = CRYPTTAB_DEFAULT;
	for (i = 0; tab && i < tab->n; i++)
		if (tab->v[i].header)
			inputs[n++] = tab->v[i].header;
	kdump_check_initrd(c, inputs, n);
	free(inputs);
}

static void run_checks(struct status *st, struct luks_devlist *devs,
		       const struct item *items, size_t n)
{
	struct crypttab tab = { 0 };
	char path[PATH_MAX];
	bool have_tab;
	size_t i;

	have_tab = kdump_sys_path(path, CRYPTTAB_DEFAULT) &&
		   crypttab_read(path, false, &tab) == 0;
	check_handover(&st->checks[CHECK_HANDOVER], st, items, n);
	kdump_check_reservation(&st->checks[CHECK_RESERVATION], n);
	kdump_check_kexec_args(&st->checks[CHECK_KEXEC_ARGS]);
	check_kdump_boot(&st->checks[CHECK_KDUMP_BOOT], have_tab ? &tab : NULL,
			 devs, items, n);
	check_kdump_initrd(&st->checks[CHECK_KDUMP_INITRD],
			   have_tab ? &tab : NULL);
	crypttab_free(&tab);
	if (!st->capture)
		return;
	/* Its own crash kernel is not what a capture kernel is there for. */
	for (i = 0; i < NR_CHECKS; i++)
		check_set(&st->checks[i], CHECK_NA, "this is the kdump "
			  "(capture) kernel, which hands nothing over");
}

static bool any_check_failed(const struct status *st)
{
	size_t i;

	for (i = 0; i < NR_CHECKS; i++)
		if (st->checks[i].verdict == CHECK_FAILED)
			return true;
	return false;
}

/* One element of "checks": "ok" is null when not applicable. */
static struct json_object *check_json(const struct check *c)
{
	struct json_object *obj = json_object_new_object();
	int err;

	if (!obj)
		return NULL;
	err = ck_json_add_string(obj, "name", c->name);
	err |= ck_json_add_tribool(obj, "ok", c->verdict == CHECK_NA ? -1 :
					      c->verdict == CHECK_OK);
	err |= ck_json_add_string(obj, "detail", c->detail);
	if (err) {
		json_object_put(obj);
		return NULL;
	}
	return obj;
}

/* "handover": null where the kernel does not say, else count and digest. */
static int handover_json(struct json_object *obj, const struct status *st)
{
	struct json_object *h;
	int err;

	if (!st->handover_known)
		return ck_json_add_null(obj, "handover");
	h = json_object_new_object();
	if (!h)
		return -1;
	err = ck_json_add_int(h, "count", st->handover.count);
	err |= ck_json_add_string(h, "digest", st->handover.digest[0] ?
					       st->handover.digest : NULL);
	if (err) {
		json_object_put(h);
		return -1;
	}
	return ck_json_add(obj, "handover", h);
}

static void print_status_json(const struct status *st,
			      const struct item *items, size_t n)
{
	struct json_object *obj = json_object_new_object();
	struct json_object *checks = json_object_new_array();
	size_t i;
	int err = 0;

	if (!obj || !checks) {
		json_object_put(checks);
		ck_json_print(obj, -1);
		return;
	}
	for (i = 0; i < NR_CHECKS && !err; i++)
		err = ck_json_append(checks, check_json(&st->checks[i]));
	err |= ck_json_add_string(obj, "configfs", configfs_dir());
	err |= ck_json_add_bool(obj, "supported", st->supported);
	err |= ck_json_add_string(obj, "kernel",
				  st->capture ? "capture" : "running");
	err |= ck_json_add_tribool(obj, "crash_kernel_loaded", st->loaded);
	if (st->count < 0)
		err |= ck_json_add_null(obj, "count");
	else
		err |= ck_json_add_int(obj, "count", st->count);
	err |= ck_json_add_tribool(obj, "reuse", (int)st->reuse);
	err |= handover_json(obj, st);
	err |= items_json(obj, items, n);
	err |= ck_json_add(obj, "checks", checks);
	ck_json_print(obj, err);
}

static void print_handover(const struct status *st)
{
	if (!st->handover_known)
		printf("handed over:         unknown\n");
	else if (st->handover.count == 0)
		printf("handed over:         none\n");
	else
		printf("handed over:         %ld key%s, digest %s\n",
		       st->handover.count, st->handover.count == 1 ? "" : "s",
		       st->handover.digest);
}

static void print_checks(const struct status *st)
{
	static const char *const verdict[] = {
		[CHECK_NA] = "n/a",
		[CHECK_FAILED] = "failed",
		[CHECK_OK] = "ok",
	};
	const struct check *c;
	size_t i;

	printf("\nchecks:\n");
	for (i = 0; i < NR_CHECKS; i++) {
		c = &st->checks[i];
		printf("  %-6s  %s: %s\n", verdict[c->verdict], c->name,
		       c->detail);
	}
}

static void print_status(const struct status *st, const struct item *items,
			 size_t n)
{
	printf("configfs:            %s\n", configfs_dir());
	printf("kernel support:      %s\n", st->supported ? "yes" :
	       configfs_mainline_present() ?
	       "no: the kernel has mainline's CONFIG_CRASH_DM_CRYPT, which crashkey does not drive" :
	       "no");
	printf("kernel:              %s\n",
	       st->capture ? "capture (kdump)" : "running");
	printf("crash kernel loaded: %s\n", yes_no_unknown(st->loaded));
	if (st->count < 0)
		printf("registered volumes:  unknown\n");
	else
		printf("registered volumes:  %ld\n", st->count);
	printf("reuse:               %s\n", yes_no_unknown((int)st->reuse));
	print_handover(st);
	if (st->supported && !st->capture) {
		printf("\n");
		print_items(items, n);
	}
	print_checks(st);
}

int cmd_status(bool check)
{
	struct luks_devlist devs = { 0 };
	struct item *items = NULL;
	struct status st = {
		.supported = configfs_check() == 0,
		.capture = access(PROC_VMCORE, F_OK) == 0,
		.loaded = kdump_crash_loaded(),
		.count = -1,
		.reuse = -1,
	};
	size_t n = 0;
	bool failed;

	if (st.supported) {
		if (configfs_read_count(&st.count) < 0)
			st.count = -1;
		if (configfs_read_reuse(&st.reuse) < 0)
			st.reuse = -1;
		st.handover_known = configfs_read_handover(&st.handover) == 0;
		if (collect_items(&items, &n, &devs) < 0) {
			ck_warn("cannot list %s", configfs_dir());
			n = 0;
		}
	}
	run_checks(&st, &devs, items, n);
	if (out_opts.json)
		print_status_json(&st, items, n);
	else
		print_status(&st, items, n);
	failed = any_check_failed(&st);
	free(items);
	luks_devlist_free(&devs);
	return check && failed ? EXIT_CHECKS : EXIT_OK;
}

/* ---- unlock ---- */

/* How often unlock looks again for a device that is not there yet. */
#define POLL_INTERVAL_MS	250

enum vol_status {
	VOL_UNLOCKED,
	VOL_ACTIVE,	/* was unlocked before: fine */
	VOL_WOULD,	/* --dry-run: the key fits, nothing done */
	VOL_FAILED,
};

static const char *const vol_status_name[] = {
	[VOL_UNLOCKED] = "unlocked",
	[VOL_ACTIVE] = "already-active",
	[VOL_WOULD] = "would-unlock",
	[VOL_FAILED] = "failed",
};

struct vol_result {
	const struct user_key *key;
	char *device;			/* malloc'd; NULL if none was found */
	const char *header;		/* detached header (crypttab), or NULL */
	const struct crypttab_entry *entry;	/* that named it, or NULL */
	const struct crypttab_entry *dup;	/* a second one for it */
	char name[MAPPER_NAME_MAX + 1];	/* crypttab's name, or luks-<uuid> */
	char mapper[sizeof(MAPPER_DIR) + MAPPER_NAME_MAX];
	bool done;			/* tried for good, the key dropped */
	enum vol_status status;
	char reason[320];		/* with VOL_FAILED */
};

/* One run of unlock: its volumes, and how far it got with them. */
struct unlock_run {
	const struct unlock_args *args;
	struct crypttab tab;
	struct vol_result *res;
	size_t n;
	size_t ok;
	size_t pending;			/* not done yet */
	bool scan_warned;
};

/* Set by SIGINT, SIGTERM or SIGHUP while unlock waits for devices. */
static volatile sig_atomic_t stop_waiting;

/* What the restore step did, for the report. */
static const char *restore_keys(bool *hard_failure)
{
	bool no_interface;
	int ret = configfs_restore(&no_interface);

	*hard_failure = false;
	if (ret == 0) {
		ck_debug("restored the handed-over keys into the user keyring");
		return "restored";
	}
	if (no_interface) {
		ck_note("no %s/restore (not a kdump capture kernel, or no "
			"kernel support); using keys already in the user "
			"keyring", configfs_dir());
		return "unavailable";
	}
	if (ret == -ENOENT) {
		ck_note("no keys to restore (none handed over, or restored "
			"before); using keys already in the user keyring");
		return "nothing";
	}
	if (ret == -EBADMSG || ret == -EINVAL)
		ck_error("the handed-over key data failed the kernel's checks;"
			 " nothing was restored");
	else
		ck_error("cannot restore the handed-over keys: %s",
			 strerror(-ret));
	*hard_failure = true;
	return "failed";
}

static void vol_fail(struct vol_result *r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void vol_fail(struct vol_result *r, const char *fmt, ...)
{
	va_list ap;

	r->status = VOL_FAILED;
	va_start(ap, fmt);
	vsnprintf(r->reason, sizeof(r->reason), fmt, ap);
	va_end(ap);
}

/* The mapper name: the crypttab entry's, else luks-<UUID>. */
static void set_name(struct vol_result *r, const struct crypttab_entry *e)
{
	if (e)
		snprintf(r->name, sizeof(r->name), "%s", e->name);
	else
		snprintf(r->name, sizeof(r->name), "%s%s", MAPPER_PREFIX,
			 r->key->uuid);
	snprintf(r->mapper, sizeof(r->mapper), "%s%s", MAPPER_DIR, r->name);
}

/* The LUKS header on r->device, or the detached one that goes with it. */
static int open_volume(const struct vol_result *r, struct crypt_device **cd,
		       char uuid[UUID_BUF_LEN])
{
	if (r->header)
		return luks_open_detached(r->header, r->device, cd, uuid);
	return luks_open(r->device, cd, uuid);
}

/* Opens the volume with the key; the key itself is dropped by the caller. */
static void unlock_volume(struct vol_result *r, bool dry_run)
{
	struct secret key = { 0 };
	struct crypt_device *cd = NULL;
	char uuid[UUID_BUF_LEN];
	int ret;

	ret = keys_read(r->key->id, &key);
	if (ret < 0) {
		vol_fail(r, "cannot read the key: %s",
			 ret == -E2BIG ? "longer than any volume key" :
			 strerror(-ret));
		return;
	}
	ret = open_volume(r, &cd, uuid);
	if (ret < 0) {
		vol_fail(r, "cannot read the LUKS header%s%s: %s",
			 r->header ? " " : "", r->header ? r->header : "",
			 strerror(-ret));
		goto out;
	}
	/* blkid found the UUID in one header, libcryptsetup read another. */
	if (strcmp(uuid, r->key->uuid) != 0) {
		vol_fail(r, "the LUKS header holds UUID %s, not used", uuid);
		goto out;
	}
	ret = luks_verify_key(cd, &key);
	if (ret == -EPERM) {
		vol_fail(r, "key does not match the LUKS header, not used");
		goto out;
	} else if (ret < 0) {
		vol_fail(r, "cannot check the key: %s", strerror(-ret));
		goto out;
	}
	if (dry_run) {
		r->status = VOL_WOULD;
		goto out;
	}
	ret = luks_activate(cd, r->name, &key);
	if (ret == 0)
		r->status = VOL_UNLOCKED;
	else if (ret == -EEXIST)
		r->status = VOL_ACTIVE;
	else
		vol_fail(r, "activation failed: %s", strerror(-ret));
out:
	secret_free(&key);
	if (cd)
		luks_close(cd);
}

/*
 * Where @r's volume is: names it, and sets *@device (and r->header for a
 * detached header). False while its device is missing or not unique, which
 * a wait may mend; then @why says so.
 */
static bool locate_volume(struct vol_result *r, const struct crypttab *tab,
			  const struct luks_devlist *devs, const char **device,
			  char *why, size_t size)
{
	const struct luks_dev *d = luks_devlist_find(devs, r->key->uuid);
	const struct crypttab_entry *e;
	/* Of two devices with the UUID neither is the volume: not guessed. */
	const char *path = d && !d->other ? d->path : NULL;

	e = crypttab_find(tab, r->key->uuid, path, &r->dup);
	r->entry = e;
	set_name(r, e);
	r->header = e ? e->header : NULL;
	if (r->header) {
		*device = e->device;
		snprintf(why, size, "data device %s of %s:%u not found",
			 e->source, tab->path, e->line);
		return *device != NULL;
	}
	*device = path;
	if (!d)
		snprintf(why, size, "no block device with this LUKS UUID");
	else if (d->other)
		snprintf(why, size, "this LUKS UUID is on both %s and %s, "
			 "neither used", d->path, d->other);
	return path != NULL;
}

static void print_volume(const struct vol_result *r)
{
	const char *dev = r->device ? r->device : "-";

	if (r->status == VOL_FAILED) {
		/* Failures are shown even with --quiet. */
		if (!out_opts.json)
			printf("failed %s %s: %s (%s not set up)\n",
			       r->key->uuid, dev, r->reason, r->mapper);
		return;
	}
	ck_info("%s %s %s -> %s", vol_status_name[r->status], r->key->uuid,
		dev, r->mapper);
}

/* Reports what was done with @r's volume and drops its key. */
static void finish_volume(struct unlock_run *run, struct vol_result *r)
{
	const char *path = run->tab.path;
	int ret;

	if (r->dup)
		ck_warn("%s: lines %u and %u are both for volume %s; using "
			"the first, %s", path, r->entry->line, r->dup->line,
			r->key->uuid, r->name);
	else if (r->entry)
		ck_debug("%s: line %u names volume %s %s", path,
			 r->entry->line, r->key->uuid, r->name);
	r->done = true;
	run->pending--;
	/* Used or useless: either way the key must not linger. */
	if (!run->args->dry_run) {
		ret = keys_drop(r->key->id);
		if (ret < 0)
			ck_warn("cannot revoke key \"%s\": %s", r->key->desc,
				strerror(-ret));
	}
	if (r->status != VOL_FAILED)
		run->ok++;
	print_volume(r);
}

/*
 * Tries @r's volume with the devices there now. In the @last round a
 * volume still missing fails; before it, it waits for the next round.
 */
static void try_volume(struct unlock_run *run, struct vol_result *r,
		       const struct luks_devlist *devs, bool last)
{
	const char *dropped = run->args->dry_run ? "" : "; key dropped";
	const char *device;
	char why[sizeof(r->reason)];

	if (!locate_volume(r, &run->tab, devs, &device, why, sizeof(why))) {
		if (!last)
			return;
		if (run->args->wait)
			vol_fail(r, "%s, after waiting %u s%s", why,
				 run->args->wait, dropped);
		else
			vol_fail(r, "%s%s", why, dropped);
	} else {
		r->device = strdup(device);
		if (!r->device)
			vol_fail(r, "out of memory");
		else
			unlock_volume(r, run->args->dry_run);
	}
	finish_volume(run, r);
}

/* One fresh probe of the block devices, and every volume not done tried. */
static void unlock_round(struct unlock_run *run, bool last)
{
	struct luks_devlist devs = { 0 };
	int ret = luks_scan(&devs);
	size_t i;

	if (ret < 0 && !run->scan_warned) {
		ck_warn("cannot list block devices: %s", strerror(-ret));
		run->scan_warned = true;
	}
	crypttab_resolve(&run->tab, &devs);
	for (i = 0; i < run->n; i++)
		if (!run->res[i].done)
			try_volume(run, &run->res[i], &devs, last);
	luks_devlist_free(&devs);
}

/* Milliseconds on a clock that nobody sets. */
static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void on_stop_signal(int sig)
{
	(void)sig;
	stop_waiting = 1;
}

/*
 * While unlock waits, a signal from a timeout or an operator ends the wait
 * instead of the process, so that the keys are still dropped. A second one
 * ends the process (SA_RESETHAND), should unlock hang in a library.
 * SA_RESTART keeps a read in the libraries from failing; nanosleep()
 * returns early all the same.
 */
static void catch_stop_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop_signal;
	sa.sa_flags = SA_RESTART | SA_RESETHAND;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
}

static void sleep_ms(long long ms)
{
	struct timespec ts = {
		.tv_sec = ms / 1000,
		.tv_nsec = (ms % 1000) * 1000000,
	};

	nanosleep(&ts, NULL);
}

/*
 * Tries every volume; while devices are missing, probes again every
 * POLL_INTERVAL_MS until @deadline. The round that starts at or after it
 * (or after a stop signal) is the last: it fails what is still missing.
 */
static void unlock_all(struct unlock_run *run, long long deadline)
{
	long long left;
	bool last, noted = false;

	for (;;) {
		left = deadline - now_ms();
		last = left <= 0 || stop_waiting;
		if (stop_waiting)
			ck_warn("interrupted: not waiting for devices any "
				"longer");
		unlock_round(run, last);
		if (run->pending == 0 || last)
			return;
		if (!noted)
			ck_note("waiting up to %u s for the device%s of %zu "
				"volume%s", run->args->wait,
				run->pending == 1 ? "" : "s", run->pending,
				run->pending == 1 ? "" : "s");
		noted = true;
		sleep_ms(left < POLL_INTERVAL_MS ? left : POLL_INTERVAL_MS);
	}
}

/* One entry of unlock's "volumes". */
static struct json_object *volume_json(const struct vol_result *r)
{
	struct json_object *obj = json_object_new_object();
	int err;

	if (!obj)
		return NULL;
	err = ck_json_add_string(obj, "uuid", r->key->uuid);
	err |= ck_json_add_string(obj, "description", r->key->desc);
	err |= ck_json_add_string(obj, "device", r->device);
	err |= ck_json_add_string(obj, "mapper", r->mapper);
	err |= ck_json_add_string(obj, "name", r->name);
	err |= ck_json_add_string(obj, "header", r->header);
	err |= ck_json_add_string(obj, "status", vol_status_name[r->status]);
	err |= ck_json_add_string(obj, "reason", r->status == VOL_FAILED ?
							 r->reason : NULL);
	if (err) {
		json_object_put(obj);
		return NULL;
	}
	return obj;
}

static void print_unlock_json(const char *restore,
			      const struct vol_result *res, size_t n, size_t ok)
{
	struct json_object *obj = json_object_new_object();
	struct json_object *volumes = json_object_new_array();
	size_t i;
	int err = 0;

	if (!obj || !volumes) {
		json_object_put(volumes);
		ck_json_print(obj, -1);
		return;
	}
	for (i = 0; i < n && !err; i++)
		err = ck_json_append(volumes, volume_json(&res[i]));
	err |= ck_json_add_string(obj, "restore", restore);
	err |= ck_json_add(obj, "volumes", volumes);
	err |= ck_json_add_int(obj, "unlocked", (long)ok);
	err |= ck_json_add_int(obj, "total", (long)n);
	ck_json_print(obj, err);
}

/* Out of memory before anything was tried: the keys still must go. */
static void drop_all_keys(const struct user_key *keys, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (keys_drop(keys[i].id) < 0)
			ck_warn("cannot revoke key \"%s\"", keys[i].desc);
}

static void free_results(struct vol_result *res, size_t n)
{
	size_t i;

	for (i = 0; res && i < n; i++)
		free(res[i].device);
	free(res);
}

/* Unlocks the volumes of the n keys; run->res is allocated. */
static void unlock_keys(struct unlock_run *run, const struct user_key *keys,
			long long start)
{
	size_t i;

	for (i = 0; i < run->n; i++) {
		run->res[i].key = &keys[i];
		set_name(&run->res[i], NULL);
	}
	run->pending = run->n;
	if (run->n == 0)
		return;
	if (run->args->wait)
		catch_stop_signals();
	unlock_all(run, start + 1000LL * run->args->wait);
	/* A header that could not be read may be why a volume was not found. */
	if (run->ok < run->n)
		crypttab_report_headers(&run->tab);
}

int cmd_unlock(const struct unlock_args *args)
{
	struct unlock_run run = { .args = args };
	long long start = now_ms();
	struct user_key *keys = NULL;
	const char *restore = "skipped";
	bool restore_failed = false;
	int ret, rc;

	/* Before the restore, so that a bad --crypttab leaves no keys out. */
	if (crypttab_read(args->crypttab ? args->crypttab : CRYPTTAB_DEFAULT,
			  args->crypttab != NULL, &run.tab) < 0)
		return EXIT_FAILED;
	if (!args->no_restore)
		restore = restore_keys(&restore_failed);
	ret = keys_list_volume_keys(&keys, &run.n);
	if (ret < 0) {
		ck_error("cannot read the user keyring: %s", strerror(-ret));
		crypttab_free(&run.tab);
		return EXIT_FAILED;
	}
	run.res = calloc(run.n ? run.n : 1, sizeof(*run.res));
	if (!run.res) {
		ck_error("out of memory");
		if (!args->dry_run)
			drop_all_keys(keys, run.n);
		keys_free_list(keys, run.n);
		crypttab_free(&run.tab);
		return EXIT_FAILED;
	}
	unlock_keys(&run, keys, start);

	if (out_opts.json)
		print_unlock_json(restore, run.res, run.n, run.ok);
	else if (run.n > 0)
		ck_info("%s %zu of %zu volumes",
			args->dry_run ? "would unlock" : "unlocked", run.ok,
			run.n);

	if (run.n == 0) {
		if (!restore_failed)
			ck_note("no volume keys to unlock: none were handed "
				"over to this kernel");
		rc = restore_failed ? EXIT_FAILED : EXIT_NOTHING;
	} else {
		rc = run.ok == run.n ? EXIT_OK : EXIT_PARTIAL;
	}
	free_results(run.res, run.n);
	keys_free_list(keys, run.n);
	crypttab_free(&run.tab);
	return rc;
}

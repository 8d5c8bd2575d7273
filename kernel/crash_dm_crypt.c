// SPDX-License-Identifier: GPL-2.0
/*
 * Hand dm-crypt volume keys to the kdump kernel.
 *
 * Running kernel: userspace registers one configfs item per LUKS volume
 * (named by its UUID) whose description names a logon key holding the volume
 * key. When a crash image is loaded with kexec_file_load, the keys are
 * serialised into a checksummed blob (include/linux/crash_key_blob.h) that
 * becomes a kexec segment at a random place in the crash reservation, and the
 * logon keys are revoked. The architecture tells the kdump kernel where the
 * blob is and keeps its pages out of the running kernel's mapping.
 *
 * kdump kernel: writing 1 to "restore" validates the whole blob, recreates
 * every key as a user key in the writer's keyring, then wipes the blob and
 * gives its pages back.
 *
 * A key exists once: after a load only in the blob, every transient copy is
 * wiped, later loads take it from the previous blob, and the blob is wiped
 * when the machine reboots or kexecs into another kernel.
 */
#define pr_fmt(fmt) "crash_dm_crypt: " fmt

#include <linux/configfs.h>
#include <linux/crash_core.h>
#include <linux/crash_dm_crypt.h>
#include <linux/crash_dump.h>
#include <linux/crash_key_blob.h>
#include <linux/cred.h>
#include <linux/debugfs.h>
#include <linux/delay.h>
#include <linux/initrd.h>
#include <linux/io.h>
#include <linux/ioport.h>
#include <linux/kexec.h>
#include <linux/key.h>
#include <linux/keyctl.h>
#include <linux/ktime.h>
#include <linux/libfdt.h>
#include <linux/mm.h>
#include <linux/moduleparam.h>
#include <linux/of_fdt.h>
#include <linux/panic_notifier.h>
#include <linux/random.h>
#include <linux/reboot.h>
#include <linux/sizes.h>
#include <linux/slab.h>
#include <linux/suspend.h>
#include <linux/uaccess.h>
#include <linux/uuid.h>
#include <linux/vmalloc.h>
#include <asm/sections.h>
#include <crypto/sha2.h>
#include <keys/user-type.h>

#include "crash_dm_crypt_internal.h"
#include "kexec_internal.h"

/* ---------------------------------------------------------------------------
 * Registered keys (running kernel)
 */

struct key_item {
	struct config_item item;
	struct list_head node;
	u8 uuid[CRASH_KEY_UUID_LEN];
	char desc[CRASH_KEY_MAX_DESC_LEN + 1];
	struct key *key;	/* logon key, from description write until a load takes it */
	struct key *taken;	/* @key as copied into the blob being loaded */
	bool handed_over;	/* its key is in the blob in the crash region */
};

static DEFINE_MUTEX(items_lock);	/* key_items, item_count, key_item fields, reuse */
static LIST_HEAD(key_items);
static unsigned int item_count;
static bool reuse_requested;

/*
 * What the kept blob carries, for userspace to compare with what is
 * registered: how many keys, and a digest of their UUIDs in blob order.
 * Nothing in it is derived from a key. Under items_lock.
 */
static struct {
	unsigned int count;
	u8 digest[SHA256_DIGEST_SIZE];
} handover_summary;

static struct key_item *to_key_item(struct config_item *item)
{
	return container_of(item, struct key_item, item);
}

/* LUKS writes UUIDs in canonical form: 36 characters, lower-case hex. */
VISIBLE_IF_KUNIT bool crash_dm_crypt_name_valid(const char *name)
{
	const char *c;

	if (strlen(name) != UUID_STRING_LEN || !uuid_is_valid(name))
		return false;
	for (c = name; *c; c++)
		if (*c >= 'A' && *c <= 'F')
			return false;
	return true;
}
EXPORT_SYMBOL_IF_KUNIT(crash_dm_crypt_name_valid);

/* Holds key->sem for reading; returns the payload if the key can be used. */
static const struct user_key_payload *usable_payload(struct key *key)
{
	const struct user_key_payload *payload;

	if (key_validate(key))
		return ERR_PTR(-EKEYREVOKED);
	payload = user_key_payload_locked(key);
	if (!payload)
		return ERR_PTR(-EKEYREVOKED);
	if (!payload->datalen || payload->datalen > CRASH_KEY_MAX_KEY_LEN)
		return ERR_PTR(-EINVAL);
	return payload;
}

static int check_key_payload(struct key *key)
{
	const struct user_key_payload *payload;

	down_read(&key->sem);
	payload = usable_payload(key);
	up_read(&key->sem);
	return PTR_ERR_OR_ZERO(payload);
}

/*
 * The writer's own keyrings first (thread, process, session), then its user
 * keyring: that is where crashkey and kdump-utils keep the keys, and it is
 * not searched by request_key() when a session keyring does not link it.
 */
static struct key *search_key(struct key_type *type, const char *desc)
{
	key_ref_t keyring, found;
	struct key *key;

	key = request_key(type, desc, NULL);
	if (!IS_ERR(key) || PTR_ERR(key) != -ENOKEY)
		return key;

	keyring = lookup_user_key(KEY_SPEC_USER_KEYRING, 0, KEY_NEED_SEARCH);
	if (IS_ERR(keyring))
		return ERR_PTR(-ENOKEY);
	found = keyring_search(keyring, type, desc, true);
	key_ref_put(keyring);
	if (IS_ERR(found))
		return ERR_PTR(-ENOKEY);
	return key_ref_to_ptr(found);
}

static struct key *find_logon_key(const char *desc)
{
	struct key *key = search_key(&key_type_logon, desc);
	struct key *other;

	if (!IS_ERR(key) || PTR_ERR(key) != -ENOKEY)
		return key;
	other = search_key(&key_type_user, desc);
	if (IS_ERR(other))
		return key;
	key_put(other);
	return ERR_PTR(-EKEYREJECTED);
}

static ssize_t key_item_description_show(struct config_item *item, char *page)
{
	struct key_item *ki = to_key_item(item);
	ssize_t len;

	mutex_lock(&items_lock);
	len = sysfs_emit(page, "%s\n", ki->desc);
	mutex_unlock(&items_lock);
	return len;
}

static ssize_t key_item_description_store(struct config_item *item,
					  const char *page, size_t count)
{
	char desc[CRASH_KEY_MAX_DESC_LEN + 1];
	struct key_item *ki = to_key_item(item);
	size_t len = count;
	struct key *key, *old;
	int ret;

	if (len && page[len - 1] == '\n')
		len--;
	if (!len || len > CRASH_KEY_MAX_DESC_LEN || memchr(page, '\0', len))
		return -EINVAL;
	memcpy(desc, page, len);
	desc[len] = '\0';

	key = find_logon_key(desc);
	if (IS_ERR(key))
		return PTR_ERR(key);
	ret = check_key_payload(key);
	if (ret) {
		key_put(key);
		return ret;
	}

	mutex_lock(&items_lock);
	old = ki->key;
	ki->key = key;
	strscpy(ki->desc, desc);
	mutex_unlock(&items_lock);
	key_put(old);
	return count;
}

/*
 * Whether the kept blob carries this volume's key: "yes"; "stale" when a
 * description was written since (the next load takes that key instead);
 * "no" when it was registered after the last load or the keys were dropped.
 */
static ssize_t key_item_handed_over_show(struct config_item *item, char *page)
{
	struct key_item *ki = to_key_item(item);
	const char *state = "no";

	mutex_lock(&items_lock);
	if (ki->handed_over)
		state = ki->key ? "stale" : "yes";
	mutex_unlock(&items_lock);
	return sysfs_emit(page, "%s\n", state);
}

CONFIGFS_ATTR(key_item_, description);
CONFIGFS_ATTR_RO(key_item_, handed_over);

static struct configfs_attribute *key_item_attrs[] = {
	&key_item_attr_description,
	&key_item_attr_handed_over,
	NULL,
};

static void key_item_release(struct config_item *item)
{
	struct key_item *ki = to_key_item(item);

	mutex_lock(&items_lock);
	list_del(&ki->node);
	item_count--;
	/*
	 * A load in progress copied its key into its blob, and end_load() will
	 * not find the item to revoke it: the blob must stay its only copy.
	 */
	if (ki->taken)
		key_revoke(ki->taken);
	mutex_unlock(&items_lock);
	key_put(ki->taken);
	key_put(ki->key);
	kfree(ki);
}

static struct configfs_item_operations key_item_ops = {
	.release = key_item_release,
};

static const struct config_item_type key_item_type = {
	.ct_item_ops = &key_item_ops,
	.ct_attrs = key_item_attrs,
	.ct_owner = THIS_MODULE,
};

static struct config_item *keys_make_item(struct config_group *group,
					  const char *name)
{
	struct key_item *ki;
	uuid_t uuid;

	if (!crash_dm_crypt_name_valid(name) || uuid_parse(name, &uuid))
		return ERR_PTR(-EINVAL);

	ki = kzalloc(sizeof(*ki), GFP_KERNEL);
	if (!ki)
		return ERR_PTR(-ENOMEM);
	memcpy(ki->uuid, uuid.b, sizeof(ki->uuid));

	mutex_lock(&items_lock);
	if (item_count >= CRASH_KEY_MAX_KEYS) {
		mutex_unlock(&items_lock);
		kfree(ki);
		return ERR_PTR(-ENOSPC);
	}
	item_count++;
	list_add_tail(&ki->node, &key_items);
	mutex_unlock(&items_lock);

	config_item_init_type_name(&ki->item, name, &key_item_type);
	return &ki->item;
}

static ssize_t keys_count_show(struct config_item *item, char *page)
{
	unsigned int count;

	mutex_lock(&items_lock);
	count = item_count;
	mutex_unlock(&items_lock);
	return sysfs_emit(page, "%u\n", count);
}

static ssize_t keys_reuse_show(struct config_item *item, char *page)
{
	bool reuse;

	mutex_lock(&items_lock);
	reuse = reuse_requested;
	mutex_unlock(&items_lock);
	return sysfs_emit(page, "%d\n", reuse);
}

static ssize_t keys_reuse_store(struct config_item *item, const char *page,
				size_t count)
{
	bool reuse;
	int ret;

	ret = kstrtobool(page, &reuse);
	if (ret)
		return ret;
	mutex_lock(&items_lock);
	reuse_requested = reuse;
	mutex_unlock(&items_lock);
	return count;
}

/* "COUNT DIGEST" of the kept blob's keys (see handover_summary); "0 -" if none. */
static ssize_t keys_handed_over_show(struct config_item *item, char *page)
{
	ssize_t len;

	mutex_lock(&items_lock);
	if (handover_summary.count)
		len = sysfs_emit(page, "%u %*phN\n", handover_summary.count,
				 SHA256_DIGEST_SIZE, handover_summary.digest);
	else
		len = sysfs_emit(page, "0 -\n");
	mutex_unlock(&items_lock);
	return len;
}

CONFIGFS_ATTR_RO(keys_, count);
CONFIGFS_ATTR(keys_, reuse);
CONFIGFS_ATTR_RO(keys_, handed_over);

static struct configfs_attribute *keys_attrs[] = {
	&keys_attr_count,
	&keys_attr_reuse,
	&keys_attr_handed_over,
	NULL,
};

static struct configfs_group_operations keys_group_ops = {
	.make_item = keys_make_item,
};

static const struct config_item_type keys_type = {
	.ct_group_ops = &keys_group_ops,
	.ct_attrs = keys_attrs,
	.ct_owner = THIS_MODULE,
};

/* ---------------------------------------------------------------------------
 * Loading a crash image (running kernel, kexec lock held)
 *
 * A volume key exists once. A load copies each registered logon key into the
 * blob and, once the image is installed, revokes that key (which frees its
 * payload with kfree_sensitive()) and drops the item's reference: from then
 * on the key is only in the blob, whose pages are not present in this kernel.
 * Every later load (a reload after hot-plug, after one more volume was
 * registered, a kdump service restart) takes the keys of such handed-over
 * items from the previous blob.
 *
 * At most one blob lives in the crash region, "kept". Loading or unloading
 * frees the old crash image first, so begin_load() maps the kept blob back,
 * copies and checks it, and wipes it. end_load() keeps one blob again: the
 * new image's or, when no image got installed (an unload, a failed load),
 * the handed-over keys written back where they were. A reboot or kexec -e
 * wipes it.
 */

struct blob_buf {
	void *data;
	size_t len;	/* blob length */
	size_t size;	/* allocation size, for wiping */
};

/* The blob in the crash region, pages not present; none while size is 0. */
static struct {
	phys_addr_t addr;
	size_t size;
} kept;

/*
 * No load while the machine hibernates or goes down: its keys would be where
 * the hibernation image does not save them, or where nothing wipes them.
 */
static bool hibernating, going_down;

/* One load at a time (kexec lock). */
static struct {
	struct blob_buf pending;		/* source of the blob segment */
	struct blob_buf prev;			/* checked copy of the kept blob */
	struct crash_key_ref *prev_keys;	/* its entries, into prev */
	unsigned int prev_count;
	phys_addr_t prev_addr;			/* where it was: wiped, present */
	size_t prev_size;
} load;

#ifdef CONFIG_CRASH_KEY_HANDOVER_TEST_PROBE
/*
 * Fault injection for tests: the next load fails right after its blob is
 * placed, in every placement an arch loader tries; the next unmapping of a
 * new blob or mapping back of the kept one fails as if the arch refused.
 */
static bool fail_next_load, fail_next_unmap, fail_next_map;

/*
 * The next reload's allocations fail as if memory ran out: the copy of the
 * kept blob, or the buffer of the new one.
 */
static bool fail_next_copy, fail_next_alloc;

/*
 * Boundary tests: the next load takes the lowest (1) or the highest (2) page
 * of its window instead of a random one.
 */
enum { PLACE_RANDOM, PLACE_LOWEST, PLACE_HIGHEST };
static u32 place_next_load;

/*
 * Memory checks for tests: where the last blob was placed (the placement
 * outlives the blob, so that a test can read the wiped pages through
 * /dev/mem), and a knob that skips the wipes of the next load, unload or
 * shutdown (all of them: an unload wipes the old place twice), so that such
 * a test can show it would see a blob that was not wiped.
 */
static struct {
	unsigned long addr, size, min, max;
} last_placed;
static bool skip_next_wipe;

/*
 * Scale measurements (make bench): how long the last load spent on its keys
 * (reading them, building, hashing and placing the blob), and the last
 * successful restore, in nanoseconds: a whole kexec_file_load() varies by more
 * than that under emulation.
 */
static u64 last_load_keys_ns, last_restore_ns;

static u64 probe_clock(void)
{
	return ktime_get_ns();
}

static void record_load_time(u64 start)
{
	last_load_keys_ns = ktime_get_ns() - start;
}

static void record_restore_time(u64 start)
{
	last_restore_ns = ktime_get_ns() - start;
}

/*
 * Tamper test: the next load flips one bit of its blob after the blob's own
 * digest was computed: the kdump kernel must refuse it.
 */
static bool corrupt_next_load;

static void injected_corruption(struct blob_buf *b)
{
	if (corrupt_next_load && b->len)
		((u8 *)b->data)[b->len / 2] ^= 0x01;
}

static void record_placement(const struct kexec_buf *kbuf, unsigned long min,
			     unsigned long max)
{
	last_placed.addr = kbuf->mem;
	last_placed.size = kbuf->memsz;
	last_placed.min = min;
	last_placed.max = max;
}

/* One-shot knobs: true once, then cleared. */
static bool knob_fired(bool *knob)
{
	bool fired = *knob;

	*knob = false;
	return fired;
}

static bool skip_wipe(void)
{
	return skip_next_wipe;
}

static int injected_failure(void)
{
	return fail_next_load ? -ECANCELED : 0;
}

static int injected_unmap_failure(void)
{
	return knob_fired(&fail_next_unmap) ? -ENOMEM : 0;
}

static int injected_map_failure(void)
{
	return knob_fired(&fail_next_map) ? -ENOMEM : 0;
}

static bool injected_copy_failure(void)
{
	return knob_fired(&fail_next_copy);
}

static bool injected_alloc_failure(void)
{
	return knob_fired(&fail_next_alloc);
}

static bool injected_boundary(unsigned long min, unsigned long slots,
			      unsigned long *start)
{
	if (place_next_load == PLACE_LOWEST)
		*start = min;
	else if (place_next_load == PLACE_HIGHEST)
		*start = min + (slots - 1) * PAGE_SIZE;
	else
		return false;
	return true;
}

static void injection_done(void)
{
	fail_next_load = false;
	place_next_load = PLACE_RANDOM;
	corrupt_next_load = false;
	skip_next_wipe = false;
}
#else
static inline void record_placement(const struct kexec_buf *kbuf,
				    unsigned long min, unsigned long max) { }

static inline u64 probe_clock(void)
{
	return 0;
}

static inline void record_load_time(u64 start) { }

static inline void record_restore_time(u64 start) { }

static inline bool skip_wipe(void)
{
	return false;
}

static inline int injected_failure(void)
{
	return 0;
}

static inline int injected_unmap_failure(void)
{
	return 0;
}

static inline int injected_map_failure(void)
{
	return 0;
}

static inline bool injected_copy_failure(void)
{
	return false;
}

static inline bool injected_alloc_failure(void)
{
	return false;
}

static inline void injected_corruption(struct blob_buf *b) { }

static inline bool injected_boundary(unsigned long min, unsigned long slots,
				     unsigned long *start)
{
	return false;
}

static inline void injection_done(void) { }
#endif

static void blob_buf_free(struct blob_buf *b)
{
	kvfree_sensitive(b->data, b->size);
	*b = (struct blob_buf){};
}

static void wipe_region(phys_addr_t addr, size_t size)
{
	if (!skip_wipe())
		memzero_explicit(phys_to_virt(addr), size);
}

/* Items whose key was only in a blob that is gone now; items_lock held. */
static void forget_handed_over(const char *why)
{
	unsigned int lost = 0;
	struct key_item *ki;

	list_for_each_entry(ki, &key_items, node) {
		lost += ki->handed_over;
		ki->handed_over = false;
	}
	if (lost)
		pr_warn("%u volume keys dropped (%s): write their descriptions again\n",
			lost, why);
}

static void forget_handed_over_unlocked(const char *why)
{
	mutex_lock(&items_lock);
	forget_handed_over(why);
	mutex_unlock(&items_lock);
}

/*
 * Zero pages whatever the linear map says of them (not present, read-only
 * while a crash image is protected): through a writable alias of their own.
 */
static void wipe_through_alias(phys_addr_t addr, size_t size)
{
	unsigned int i, n = size >> PAGE_SHIFT;
	struct page **pages;
	void *alias = NULL;

	pages = kmalloc_array(n, sizeof(*pages), GFP_KERNEL);
	if (pages) {
		for (i = 0; i < n; i++)
			pages[i] = pfn_to_page(PHYS_PFN(addr) + i);
		alias = vmap(pages, n, VM_MAP, PAGE_KERNEL);
		kfree(pages);
	}
	if (alias) {
		if (!skip_wipe())
			memzero_explicit(alias, size);
		vunmap(alias);
		return;
	}
	/* No alias: the pages go back into the linear map to be wiped there. */
	if (arch_crash_dm_crypt_set_present(addr, size, true)) {
		pr_err("cannot map the key blob to wipe it\n");
		return;
	}
	wipe_region(addr, size);
}

/* The kept blob goes, wherever the linear map has it; kexec lock held. */
static void drop_kept_blob(const char *why)
{
	if (!kept.size)
		return;
	wipe_through_alias(kept.addr, kept.size);
	kept.size = 0;
	forget_handed_over_unlocked(why);
}

static void free_prev(void)
{
	blob_buf_free(&load.prev);
	kvfree(load.prev_keys);
	load.prev_keys = NULL;
	load.prev_count = 0;
}

static int index_prev_key(const struct crash_key_ref *ref, void *arg)
{
	load.prev_keys[load.prev_count++] = *ref;
	return 0;
}

/*
 * A checked copy of the kept blob, indexed by entry; its pages are present.
 * -ENOMEM leaves everything as it was; a blob that does not parse any more
 * holds no key worth keeping.
 */
static int copy_kept_blob(void)
{
	struct blob_buf *b = &load.prev;
	const char *why = NULL;

	if (!injected_copy_failure()) {
		b->data = kvmalloc(kept.size, GFP_KERNEL);
		load.prev_keys = kvmalloc_array(CRASH_KEY_MAX_KEYS,
						sizeof(*load.prev_keys),
						GFP_KERNEL);
	}
	if (!b->data || !load.prev_keys) {
		free_prev();
		return -ENOMEM;
	}
	b->len = kept.size;
	b->size = kept.size;
	memcpy(b->data, phys_to_virt(kept.addr), kept.size);
	if (crash_key_blob_parse(b->data, b->len, index_prev_key, NULL, &why)) {
		free_prev();
		forget_handed_over_unlocked(why);
	}
	return 0;
}

/*
 * The new blob's buffer, before anything is wiped: a load that cannot have
 * it must fail while the previous image and its keys are still whole.
 */
static int alloc_pending(void)
{
	struct blob_buf *b = &load.pending;

	mutex_lock(&items_lock);
	b->size = item_count ? crash_key_blob_max_len(item_count) : 0;
	mutex_unlock(&items_lock);
	if (!b->size)
		return 0;
	if (!injected_alloc_failure())
		b->data = kvzalloc(b->size, GFP_KERNEL);
	if (!b->data) {
		b->size = 0;
		return -ENOMEM;
	}
	return 0;
}

/* Map the kept blob back and copy it: nothing changes if either fails. */
static int take_kept_blob(void)
{
	int ret;

	ret = injected_map_failure() ?:
	      arch_crash_dm_crypt_set_present(kept.addr, kept.size, true);
	if (ret) {
		pr_err("cannot map the key blob back (%d), load refused\n", ret);
		goto hide;
	}
	ret = copy_kept_blob();
	if (ret) {
		pr_err("no memory to copy the key blob (%d), load refused\n", ret);
		goto hide;
	}
	return 0;
hide:
	/* As it was: hidden, with the image it belongs to. */
	if (arch_crash_dm_crypt_set_present(kept.addr, kept.size, false))
		/* Readable now and for good: it cannot stay. */
		drop_kept_blob("cannot unmap them again");
	return ret;
}

int crash_dm_crypt_begin_load(void)
{
	int ret;

	if (READ_ONCE(hibernating) || READ_ONCE(going_down)) {
		pr_err("the machine hibernates or goes down, load refused\n");
		return -EBUSY;
	}
	ret = alloc_pending();
	if (ret) {
		pr_err("no memory for the key blob (%d), load refused\n", ret);
		return ret;
	}
	if (!kept.size)
		return 0;
	ret = take_kept_blob();
	if (ret) {
		blob_buf_free(&load.pending);
		return ret;
	}
	wipe_region(kept.addr, kept.size);
	load.prev_addr = kept.addr;
	load.prev_size = kept.size;
	kept.addr = 0;
	kept.size = 0;
	return 0;
}

int crash_dm_crypt_hide_keys(struct kimage *image)
{
	phys_addr_t addr = image->crash_keys_addr;
	size_t size = image->crash_keys_sz;
	int ret;

	if (!size)
		return 0;
	ret = injected_unmap_failure() ?:
	      arch_crash_dm_crypt_set_present(addr, size, false);
	if (ret) {
		/* Present again, so that the failed load can wipe it. */
		arch_crash_dm_crypt_set_present(addr, size, true);
		pr_err("cannot unmap the key blob (%d), load refused\n", ret);
	}
	return ret;
}

static const struct crash_key_ref *prev_key(const struct key_item *ki)
{
	unsigned int i;

	if (!ki->handed_over)
		return NULL;
	for (i = 0; i < load.prev_count; i++)
		if (!memcmp(load.prev_keys[i].uuid, ki->uuid, CRASH_KEY_UUID_LEN))
			return &load.prev_keys[i];
	return NULL;
}

static int add_prev_key(struct crash_key_blob_writer *w,
			const struct key_item *ki,
			const struct crash_key_ref *prev)
{
	return crash_key_blob_add(w, ki->uuid, ki->desc, strlen(ki->desc),
				  prev->key, prev->key_len);
}

/*
 * The installed image's blob holds every item's key now: revoke the logon
 * keys it took, so that their payloads are freed (and wiped) now.
 */
static void revoke_taken_keys(void)
{
	struct key_item *ki;

	list_for_each_entry(ki, &key_items, node) {
		if (!ki->taken)
			continue;
		key_revoke(ki->taken);
		if (ki->key == ki->taken) {
			key_put(ki->key);
			ki->key = NULL;
		}
		ki->handed_over = true;
	}
}

static void release_taken_keys(void)
{
	struct key_item *ki;

	list_for_each_entry(ki, &key_items, node) {
		key_put(ki->taken);
		ki->taken = NULL;
	}
}

/*
 * No image got installed: write the handed-over keys of the items still
 * registered back where they were, so that the next load finds them.
 */
static void keep_handed_over_keys(void)
{
	const struct crash_key_ref *prev;
	struct crash_key_blob_writer w;
	struct key_item *ki;
	size_t len, size;

	if (!load.prev_count)
		return;
	crash_key_blob_start(&w, phys_to_virt(load.prev_addr), load.prev_size);
	list_for_each_entry(ki, &key_items, node) {
		/*
		 * The blob's own entries, not the items' descriptions of now:
		 * a subset of a blob that fit always fits again.
		 */
		prev = prev_key(ki);
		if (prev)
			crash_key_blob_add(&w, prev->uuid, prev->desc,
					   prev->desc_len, prev->key,
					   prev->key_len);
	}
	len = w.count ? crash_key_blob_finish(&w) : 0;
	size = PAGE_ALIGN(len);
	if (len && !injected_unmap_failure() &&
	    !arch_crash_dm_crypt_set_present(load.prev_addr, size, false)) {
		kept.addr = load.prev_addr;
		kept.size = size;
		return;
	}
	wipe_region(load.prev_addr, load.prev_size);
	forget_handed_over(len ? "cannot unmap them" : "none registered");
}

/*
 * After a load or unload: the kept blob holds exactly the handed-over items'
 * keys, in list order (both blob writers walk the list). items_lock held.
 */
static void summarize_handover(void)
{
	struct sha256_state sctx;
	struct key_item *ki;

	handover_summary.count = 0;
	sha256_init(&sctx);
	list_for_each_entry(ki, &key_items, node) {
		if (!kept.size || !ki->handed_over)
			continue;
		sha256_update(&sctx, ki->uuid, sizeof(ki->uuid));
		handover_summary.count++;
	}
	sha256_final(&sctx, handover_summary.digest);
}

void crash_dm_crypt_end_load(struct kimage *failed)
{
	struct kimage *image = kexec_crash_image;

	if (failed && failed->crash_keys_sz)
		wipe_region(failed->crash_keys_addr, failed->crash_keys_sz);
	blob_buf_free(&load.pending);

	mutex_lock(&items_lock);
	if (image && image->crash_keys_sz) {
		kept.addr = image->crash_keys_addr;
		kept.size = image->crash_keys_sz;
		revoke_taken_keys();
		reuse_requested = false;
	} else if (image) {
		forget_handed_over("the crash image loaded carries no keys");
	} else {
		keep_handed_over_keys();
	}
	release_taken_keys();
	mutex_unlock(&items_lock);
	/* The reboot notifier may have given up waiting for this load. */
	if (READ_ONCE(going_down))
		drop_kept_blob("the machine goes down");
	mutex_lock(&items_lock);
	summarize_handover();
	mutex_unlock(&items_lock);

	free_prev();
	injection_done();
}

static int add_logon_key(struct crash_key_blob_writer *w, struct key_item *ki)
{
	const struct user_key_payload *payload;
	int ret;

	down_read(&ki->key->sem);
	payload = usable_payload(ki->key);
	ret = PTR_ERR_OR_ZERO(payload);
	if (!ret)
		ret = crash_key_blob_add(w, ki->uuid, ki->desc, strlen(ki->desc),
					 payload->data, payload->datalen);
	up_read(&ki->key->sem);
	if (ret)
		pr_err("%s: key \"%s\" unusable (%d)\n",
		       config_item_name(&ki->item), ki->desc, ret);
	else
		ki->taken = key_get(ki->key);
	return ret;
}

/*
 * A handed-over item takes its key from the previous blob unless a
 * description was written since (and "reuse" does not insist on the blob).
 */
static int append_key(struct crash_key_blob_writer *w, struct key_item *ki,
		      bool reuse)
{
	const struct crash_key_ref *prev = prev_key(ki);

	if (prev && (reuse || !ki->key))
		return add_prev_key(w, ki, prev);
	if (ki->key)
		return add_logon_key(w, ki);
	pr_err("%s: no key to hand over, write its description\n",
	       config_item_name(&ki->item));
	return -ENOKEY;
}

/* Room for @count keys: what begin_load() allocated, unless more came since. */
static int fit_pending(struct blob_buf *b, unsigned int count)
{
	size_t size = crash_key_blob_max_len(count);

	if (b->data && size <= b->size) {
		memzero_explicit(b->data, b->size);
		b->len = 0;
		return 0;
	}
	blob_buf_free(b);
	b->data = kvzalloc(size, GFP_KERNEL);
	if (!b->data)
		return -ENOMEM;
	b->size = size;
	return 0;
}

static int build_blob(struct blob_buf *b)
{
	struct crash_key_blob_writer w;
	struct key_item *ki;
	int ret = 0;

	mutex_lock(&items_lock);
	release_taken_keys();
	if (!item_count)
		goto unlock;
	ret = fit_pending(b, item_count);
	if (ret)
		goto unlock;
	crash_key_blob_start(&w, b->data, b->size);
	list_for_each_entry(ki, &key_items, node) {
		ret = append_key(&w, ki, reuse_requested);
		if (ret)
			break;
	}
	if (!ret)
		b->len = crash_key_blob_finish(&w);
unlock:
	if (ret)
		release_taken_keys();
	mutex_unlock(&items_lock);
	return ret;
}

/* Random tries before the blob falls back to the first fit in its window. */
#define PLACE_TRIES	256

static unsigned long slot_count(unsigned long min, unsigned long max,
				unsigned long memsz)
{
	if (max < min || max - min + 1 < memsz)
		return 0;
	return (max - min + 1 - memsz) / PAGE_SIZE + 1;
}

/*
 * Every page-aligned start in [min, max] where @memsz bytes fit in free space
 * is equally likely: a start drawn uniformly from all of them is kept if
 * @try_at() can place the blob there, another is drawn if it cannot
 * (-EADDRNOTAVAIL). Taking the next free page instead would favour the pages
 * right after other segments.
 */
VISIBLE_IF_KUNIT int crash_dm_crypt_place(unsigned long min, unsigned long max,
					  unsigned long memsz,
					  crash_dm_crypt_try_fn try_at,
					  void *arg)
{
	unsigned long slots, start;
	int i, ret;

	min = PAGE_ALIGN(min);
	slots = min_t(unsigned long, slot_count(min, max, memsz), U32_MAX);
	if (!slots)
		return -EADDRNOTAVAIL;
	for (i = 0; i < PLACE_TRIES; i++) {
		start = min + get_random_u32_below(slots) * PAGE_SIZE;
		ret = try_at(start, arg);
		if (ret != -EADDRNOTAVAIL)
			return ret;
	}
	return -EADDRNOTAVAIL;
}
EXPORT_SYMBOL_IF_KUNIT(crash_dm_crypt_place);

static int place_segment_at(unsigned long start, void *arg)
{
	struct kexec_buf *kbuf = arg;

	kbuf->mem = KEXEC_BUF_MEM_UNKNOWN;
	kbuf->buf_min = start;
	kbuf->buf_max = start + kbuf->memsz - 1;
	return kexec_add_buffer(kbuf);
}

static int add_random_segment(struct kimage *image, struct blob_buf *b,
			      unsigned long min, unsigned long max,
			      unsigned long *mem)
{
	struct kexec_buf kbuf = {
		.image = image, .buffer = b->data, .bufsz = b->len,
		.memsz = PAGE_ALIGN(b->len), .buf_align = PAGE_SIZE,
	};
	unsigned long start;
	int ret;

	min = PAGE_ALIGN(max_t(unsigned long, min, crashk_res.start));
	max = min_t(unsigned long, max, crashk_res.end);
	if (injected_boundary(min, slot_count(min, max, kbuf.memsz), &start))
		ret = place_segment_at(start, &kbuf);
	else
		ret = crash_dm_crypt_place(min, max, kbuf.memsz,
					   place_segment_at, &kbuf);
	if (ret == -EADDRNOTAVAIL) {
		/* A nearly full window: any free place beats none. */
		kbuf.mem = KEXEC_BUF_MEM_UNKNOWN;
		kbuf.buf_min = min;
		kbuf.buf_max = max;
		ret = kexec_add_buffer(&kbuf);
	}
	if (!ret)
		record_placement(&kbuf, min, max);
	*mem = kbuf.mem;
	return ret;
}

int crash_dm_crypt_load_keys(struct kimage *image, unsigned long min,
			     unsigned long max)
{
	struct blob_buf *b = &load.pending;
	u64 start = probe_clock();
	unsigned long mem;
	int ret;

	/* An arch loader may retry with other placements: start afresh. */
	image->crash_keys_addr = 0;
	image->crash_keys_sz = 0;

	ret = build_blob(b);
	if (ret || !b->len)
		return ret;
	injected_corruption(b);

	ret = add_random_segment(image, b, min, max, &mem);
	if (ret) {
		pr_err("no room for %zu bytes of keys in the crash region (%d)\n",
		       b->len, ret);
		return ret;
	}
	image->crash_keys_addr = mem;
	image->crash_keys_sz = PAGE_ALIGN(b->len);
	record_load_time(start);
	return injected_failure();
}

bool crash_dm_crypt_range(const struct kimage *image, unsigned long *start,
			  unsigned long *end)
{
	if (!image->crash_keys_sz)
		return false;
	*start = image->crash_keys_addr;
	*end = image->crash_keys_addr + image->crash_keys_sz - 1;
	return true;
}

bool crash_dm_crypt_keys_kept(void)
{
	return READ_ONCE(kept.size);
}

bool crash_dm_crypt_is_keys_segment(const struct kimage *image,
				    unsigned int index)
{
	return image->crash_keys_sz &&
	       image->segment[index].mem == image->crash_keys_addr;
}

/*
 * Reboot, power-off and kexec -e: the next kernel may use the crash region as
 * RAM. (A crash kexec runs no notifier and keeps the blob.) The crash image
 * goes with its keys: booted with a wiped blob, the purgatory's digest check
 * would stop it.
 */
static int wipe_kept_blob(struct notifier_block *nb, unsigned long action,
			  void *data)
{
	/* kernel_kexec() calls the notifiers with the kexec lock held. */
	bool locked = false;
	int tries;

	/* From now on a load ends by wiping its blob (crash_dm_crypt_end_load). */
	WRITE_ONCE(going_down, true);
	/*
	 * A load in progress ends soon; a holder that died (an oops) never
	 * does, and the keys must not outlive the kernel either way.
	 */
	for (tries = 0; !kexec_in_progress && !locked && tries < 250; tries++) {
		locked = kexec_trylock();
		if (!locked)
			msleep(20);
	}
	/* Without the lock the image is its holder's: only the keys go. */
	if (kept.size && locked && kexec_crash_image) {
		arch_kexec_unprotect_crashkres();
		kimage_free(xchg(&kexec_crash_image, NULL));
	}
	drop_kept_blob("the machine goes down");
	if (locked)
		kexec_unlock();
	return NOTIFY_DONE;
}

static struct notifier_block wipe_on_reboot = {
	.notifier_call = wipe_kept_blob,
};

/*
 * The blob's pages are neither saved in a hibernation image nor restored from
 * one, so its keys cannot survive it: say so, and let the admin decide.
 */
static int refuse_hibernation(struct notifier_block *nb, unsigned long action,
			      void *data)
{
	bool kept_now;

	if (action == PM_POST_HIBERNATION || action == PM_POST_RESTORE)
		WRITE_ONCE(hibernating, false);
	if (action != PM_HIBERNATION_PREPARE)
		return NOTIFY_DONE;
	/* A load in progress has no kept blob yet, and would have one soon. */
	if (!kexec_trylock()) {
		pr_err("hibernation refused: a crash kernel is being loaded\n");
		return notifier_from_errno(-EBUSY);
	}
	kept_now = kept.size;
	if (!kept_now)
		WRITE_ONCE(hibernating, true);
	kexec_unlock();
	if (!kept_now)
		return NOTIFY_DONE;
	pr_err("hibernation refused: volume keys are handed to the crash kernel; remove the registered volumes and unload it (kexec -p -u) first\n");
	return notifier_from_errno(-EBUSY);
}

static struct notifier_block hibernation_check = {
	.notifier_call = refuse_hibernation,
};

/* ---------------------------------------------------------------------------
 * Restoring keys (kdump kernel)
 */

static phys_addr_t handover_addr;
static size_t handover_size;
/* Mapped from init until discarded, so that any exit can still wipe it. */
static void *handover_map;
static DEFINE_MUTEX(restore_lock);

/*
 * What any hand-over must look like, checked before the range is reserved:
 * nothing in it can be trusted, the device tree is not covered by a digest.
 */
VISIBLE_IF_KUNIT bool crash_dm_crypt_handover_valid(u64 addr, u64 size)
{
	return size && size <= PAGE_ALIGN(CRASH_KEY_BLOB_MAX_LEN) &&
	       PAGE_ALIGNED(addr) && PAGE_ALIGNED(size) &&
	       addr + size - 1 > addr &&
	       addr + size - 1 <= (u64)(phys_addr_t)PHYS_ADDR_MAX;
}
EXPORT_SYMBOL_IF_KUNIT(crash_dm_crypt_handover_valid);

/* The first of @busy that [@addr, @addr + @size) overlaps, or NULL. */
VISIBLE_IF_KUNIT const char *
crash_dm_crypt_handover_clash(u64 addr, u64 size,
			      const struct crash_dm_crypt_busy *busy,
			      unsigned int count)
{
	u64 last = addr + size - 1, busy_last;
	unsigned int i;

	for (i = 0; i < count; i++) {
		if (!busy[i].size)
			continue;
		busy_last = busy[i].start + busy[i].size - 1;
		if (busy_last < busy[i].start)
			busy_last = U64_MAX;
		if (addr <= busy_last && busy[i].start <= last)
			return busy[i].what;
	}
	return NULL;
}
EXPORT_SYMBOL_IF_KUNIT(crash_dm_crypt_handover_clash);

/* Ranges only the architecture knows of (x86's initrd): none by default. */
unsigned int __init __weak
arch_crash_dm_crypt_busy(struct crash_dm_crypt_busy *busy, unsigned int max)
{
	return 0;
}

/*
 * What this boot already uses and frees or reads later: a hand-over over any
 * of it would be given back twice, or its keys read as something else.
 */
static unsigned int __init boot_ranges(struct crash_dm_crypt_busy *busy,
				       unsigned int max)
{
	unsigned int n = 0;

	busy[n++] = (struct crash_dm_crypt_busy){ __pa_symbol(_text),
		__pa_symbol(_end) - __pa_symbol(_text), "this kernel" };
#ifdef CONFIG_BLK_DEV_INITRD
	busy[n++] = (struct crash_dm_crypt_busy){ phys_initrd_start,
		phys_initrd_size, "the initrd" };
#endif
	if (elfcorehdr_addr != ELFCORE_ADDR_MAX &&
	    elfcorehdr_addr != ELFCORE_ADDR_ERR)
		busy[n++] = (struct crash_dm_crypt_busy){ elfcorehdr_addr,
			elfcorehdr_size, "the ELF core header" };
#ifdef CONFIG_OF_EARLY_FLATTREE
	if (initial_boot_params)
		busy[n++] = (struct crash_dm_crypt_busy){ initial_boot_params_pa,
			fdt_totalsize(initial_boot_params), "the device tree" };
#endif
	return n + arch_crash_dm_crypt_busy(busy + n, max - n);
}

#define BOOT_RANGES_MAX	8

static bool __init handover_clear_of_boot(u64 addr, u64 size)
{
	struct crash_dm_crypt_busy busy[BOOT_RANGES_MAX];
	const char *what;

	what = crash_dm_crypt_handover_clash(addr, size, busy,
					     boot_ranges(busy, ARRAY_SIZE(busy)));
	if (what)
		pr_err("key blob location overlaps %s, ignored\n", what);
	return !what;
}

/*
 * Called before the range is reserved: a location that is malformed or over
 * anything this boot uses is never reserved, read or freed.
 */
bool __init crash_dm_crypt_set_handover(u64 addr, u64 size)
{
	if (!crash_dm_crypt_handover_valid(addr, size)) {
		pr_err("key blob location malformed (%llu bytes), ignored\n",
		       size);
		return false;
	}
	if (!handover_clear_of_boot(addr, size))
		return false;
	handover_addr = addr;
	handover_size = size;
	return true;
}

/*
 * A hand-over in mainline's format: another kernel's keys, in plain text,
 * that this one cannot restore. They go, and the admin learns why.
 */
static struct {
	u64 addr, size;
	const char *where;
} mainline_handover;

bool __init crash_dm_crypt_mainline_handover(u64 addr, u64 size,
					     const char *where)
{
	u64 reserve = size ?: PAGE_ALIGN(CRASH_DM_CRYPT_MAINLINE_MAX_LEN);

	if (!PAGE_ALIGNED(addr) || addr + reserve < addr ||
	    !handover_clear_of_boot(addr, reserve)) {
		pr_err("%s: mainline's key hand-over, malformed, ignored\n",
		       where);
		return false;
	}
	mainline_handover.addr = addr;
	mainline_handover.size = size;
	mainline_handover.where = where;
	return true;
}

/* Mainline's blob length, from its count of keys; 0 if it cannot be one. */
static size_t __init mainline_blob_len(u64 addr)
{
	size_t len = 0;
	__le32 *count;

	count = memremap(addr, sizeof(*count), MEMREMAP_WB);
	if (!count)
		return 0;
	if (le32_to_cpu(*count) <= 128)
		len = 4 + le32_to_cpu(*count) * 388;
	memunmap(count);
	return len;
}

static void __init wipe_mainline_handover(void)
{
	u64 addr = mainline_handover.addr;
	size_t len = mainline_handover.size ?: mainline_blob_len(addr);
	void *blob;

	if (!mainline_handover.where)
		return;
	pr_err("%s: a key hand-over in mainline Linux's own format (6.16+), which this kernel does not read: no keys restored from it\n",
	       mainline_handover.where);
	if (!len || !handover_clear_of_boot(addr, len))
		return;
	blob = memremap(addr, len, MEMREMAP_WB);
	if (!blob)
		return;
	memzero_explicit(blob, len);
	memunmap(blob);
	pr_info("mainline's hand-over wiped (%zu bytes)\n", len);
}

/*
 * Before it is touched: clear of what the boot uses (x86 parses its command
 * line's elfcorehdr= after the hand-over), and all RAM (the device-tree
 * arches reserve it) or none (x86 takes it out of RAM).
 */
static bool __init handover_in_place(void)
{
	if (!handover_clear_of_boot(handover_addr, handover_size)) {
		handover_size = 0;
		return false;
	}
	if (region_intersects(handover_addr, handover_size,
			      IORESOURCE_SYSTEM_RAM, IORES_DESC_NONE) !=
	    REGION_MIXED)
		return true;
	pr_err("key blob location straddles RAM's edge, ignored\n");
	handover_size = 0;
	return false;
}

VISIBLE_IF_KUNIT void *crash_dm_crypt_map_handover(phys_addr_t addr,
						   size_t size)
{
	if (IS_ENABLED(CONFIG_ARCH_HAS_CRASH_KEY_HANDOVER_MAP))
		return arch_crash_dm_crypt_map_handover(addr, size);
	return memremap(addr, size, MEMREMAP_WB);
}
EXPORT_SYMBOL_IF_KUNIT(crash_dm_crypt_map_handover);

/* Wipe the handed-over blob and give its pages back if they are RAM. */
static void discard_handover(void)
{
	memzero_explicit(handover_map, handover_size);
	memunmap(handover_map);
	handover_map = NULL;
	if (region_intersects(handover_addr, handover_size,
			      IORESOURCE_SYSTEM_RAM, IORES_DESC_NONE) ==
	    REGION_INTERSECTS)
		free_reserved_area(phys_to_virt(handover_addr),
				   phys_to_virt(handover_addr + handover_size),
				   -1, "crash key blob");
	handover_size = 0;
}

/* Only for a blob that crash_key_blob_parse() accepted. */
static u32 blob_total_len(const void *blob)
{
	const struct crash_key_blob_header *hdr = blob;

	return le32_to_cpu(hdr->total_len);
}

struct restore_ctx {
	key_ref_t keyring;
	struct key **created;
	unsigned int count;
};

static int restore_one(const struct crash_key_ref *ref, void *arg)
{
	char desc[CRASH_KEY_MAX_DESC_LEN + 1];
	struct restore_ctx *ctx = arg;
	key_ref_t key;

	memcpy(desc, ref->desc, ref->desc_len);
	desc[ref->desc_len] = '\0';
	key = key_create_or_update(ctx->keyring, "user", desc, ref->key,
				   ref->key_len,
				   KEY_POS_ALL | KEY_USR_VIEW | KEY_USR_READ |
				   KEY_USR_SEARCH, KEY_ALLOC_IN_QUOTA);
	if (IS_ERR(key)) {
		pr_err("cannot add key \"%s\" (%ld)\n", desc, PTR_ERR(key));
		return PTR_ERR(key);
	}
	ctx->created[ctx->count++] = key_ref_to_ptr(key);
	return 0;
}

/* After a failed restore, nothing it added stays usable or linked. */
static void put_restored(struct restore_ctx *ctx, bool revoke)
{
	unsigned int i;

	for (i = 0; i < ctx->count; i++) {
		if (revoke) {
			key_revoke(ctx->created[i]);
			key_unlink(key_ref_to_ptr(ctx->keyring),
				   ctx->created[i]);
		}
		key_put(ctx->created[i]);
	}
}

/*
 * The blob is read once, into memory of this kernel's own: what is checked is
 * what is parsed, whatever writes to the hand-over's pages meanwhile.
 */
static int restore_keys(void)
{
	struct restore_ctx ctx = {};
	u64 start = probe_clock();
	const char *why = NULL;
	size_t size = handover_size;
	void *blob;
	int ret;

	if (!size)
		return -ENOENT;
	ctx.created = kcalloc(CRASH_KEY_MAX_KEYS, sizeof(*ctx.created),
			      GFP_KERNEL);
	blob = kvmalloc(size, GFP_KERNEL);
	if (!ctx.created || !blob) {
		ret = -ENOMEM;
		goto out_free;
	}
	ctx.keyring = lookup_user_key(KEY_SPEC_USER_KEYRING, KEY_LOOKUP_CREATE,
				      KEY_NEED_WRITE);
	ret = PTR_ERR_OR_ZERO(ctx.keyring);
	if (ret)
		goto out_free;
	memcpy(blob, handover_map, size);

	ret = crash_key_blob_parse(blob, size, restore_one, &ctx, &why);
	if (why) {
		/* Nothing was restored; the blob is no use to anyone. */
		pr_err("key blob rejected: %s; no keys restored\n", why);
		discard_handover();
	} else if (ret) {
		/* Keep the blob so that a later write can retry. */
		put_restored(&ctx, true);
	} else {
		pr_info("restored %u keys from a %u-byte blob\n", ctx.count,
			blob_total_len(blob));
		put_restored(&ctx, false);
		discard_handover();
		record_restore_time(start);
	}
	key_ref_put(ctx.keyring);
out_free:
	kvfree_sensitive(blob, size);
	kfree(ctx.created);
	return ret;
}

/*
 * kdump kernel: keys nobody restored (the dump went over the network, the
 * restore failed or never ran) go with this kernel, however it ends.
 */
static void wipe_handover(void)
{
	if (handover_map && !skip_wipe())
		memzero_explicit(handover_map, handover_size);
}

static int wipe_handover_on_reboot(struct notifier_block *nb,
				   unsigned long action, void *data)
{
	mutex_lock(&restore_lock);
	wipe_handover();
	mutex_unlock(&restore_lock);
	return NOTIFY_DONE;
}

static struct notifier_block wipe_handover_reboot = {
	.notifier_call = wipe_handover_on_reboot,
};

/* A panic cannot wait for a restore: the pages are mapped, wipe them. */
static int wipe_handover_on_panic(struct notifier_block *nb,
				  unsigned long action, void *data)
{
	wipe_handover();
	return NOTIFY_DONE;
}

static struct notifier_block wipe_handover_panic = {
	.notifier_call = wipe_handover_on_panic,
};

static ssize_t keys_restore_store(struct config_item *item, const char *page,
				  size_t count)
{
	bool restore;
	int ret;

	ret = kstrtobool(page, &restore);
	if (ret)
		return ret;
	if (!restore)
		return -EINVAL;
	mutex_lock(&restore_lock);
	ret = restore_keys();
	mutex_unlock(&restore_lock);
	return ret ?: count;
}

CONFIGFS_ATTR_WO(keys_, restore);

static struct configfs_attribute *kdump_keys_attrs[] = {
	&keys_attr_restore,
	NULL,
};

static const struct config_item_type kdump_keys_type = {
	.ct_attrs = kdump_keys_attrs,
	.ct_owner = THIS_MODULE,
};

/* ---------------------------------------------------------------------------
 * Test probe: are the blob's pages readable through the linear mapping?
 */
#ifdef CONFIG_CRASH_KEY_HANDOVER_TEST_PROBE
static int blob_pages_show(struct seq_file *m, void *v)
{
	unsigned long pages, readable = 0, i;
	phys_addr_t addr;
	char byte;

	if (!kexec_trylock())
		return -EBUSY;
	addr = kept.addr;
	pages = kept.size >> PAGE_SHIFT;
	for (i = 0; i < pages; i++)
		if (!copy_from_kernel_nofault(&byte,
					      phys_to_virt(addr + i * PAGE_SIZE),
					      1))
			readable++;
	kexec_unlock();
	seq_printf(m, "pages=%lu readable=%lu addr=%pa\n", pages, readable,
		   &addr);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(blob_pages);

static int last_placed_show(struct seq_file *m, void *v)
{
	if (!kexec_trylock())
		return -EBUSY;
	seq_printf(m, "addr=0x%lx size=%lu window=0x%lx-0x%lx\n",
		   last_placed.addr, last_placed.size, last_placed.min,
		   last_placed.max);
	kexec_unlock();
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(last_placed);

/*
 * Where a kdump kernel's hand-over lies until its restore (size 0 after it):
 * for the test that counts the keys in all of the machine's RAM, which must
 * find them there and nowhere else.
 */
static int handover_show(struct seq_file *m, void *v)
{
	mutex_lock(&restore_lock);
	seq_printf(m, "addr=%pa size=%zu\n", &handover_addr, handover_size);
	mutex_unlock(&restore_lock);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(handover);

static void __init create_test_probe(void)
{
	struct dentry *dir = debugfs_create_dir("crash_dm_crypt", NULL);

	debugfs_create_file("blob_pages", 0400, dir, NULL, &blob_pages_fops);
	debugfs_create_bool("fail_next_load", 0600, dir, &fail_next_load);
	debugfs_create_bool("fail_next_unmap", 0600, dir, &fail_next_unmap);
	debugfs_create_bool("fail_next_map", 0600, dir, &fail_next_map);
	debugfs_create_bool("fail_next_copy", 0600, dir, &fail_next_copy);
	debugfs_create_bool("fail_next_alloc", 0600, dir, &fail_next_alloc);
	debugfs_create_u32("place_next_load", 0600, dir, &place_next_load);
	debugfs_create_file("last_placed", 0400, dir, NULL, &last_placed_fops);
	debugfs_create_file("handover", 0400, dir, NULL, &handover_fops);
	debugfs_create_bool("skip_next_wipe", 0600, dir, &skip_next_wipe);
	debugfs_create_bool("corrupt_next_load", 0600, dir, &corrupt_next_load);
	debugfs_create_u64("last_load_keys_ns", 0400, dir, &last_load_keys_ns);
	debugfs_create_u64("last_restore_ns", 0400, dir, &last_restore_ns);
}
#else
static inline void create_test_probe(void) { }
#endif

#ifdef CONFIG_CRASH_KEY_HANDOVER_TEST_PROBE
/* The control of the test that reads an old hand-over's pages after a reboot. */
static bool keep_crash_region;
module_param(keep_crash_region, bool, 0400);
#else
#define keep_crash_region false
#endif

/* What a crash region resource covers: nothing while it is unset. */
static u64 __init region_bytes(const struct resource *res)
{
	return res->end > res->start ? resource_size(res) : 0;
}

/* A MiB at a time: hundreds of them took a loaded emulator a minute, stalling RCU. */
static void __init wipe_resource(const struct resource *res)
{
	phys_addr_t at, end = res->start + region_bytes(res);

	for (at = res->start; at < end; at += SZ_1M) {
		memzero_explicit(phys_to_virt(at),
				 min_t(phys_addr_t, SZ_1M, end - at));
		cond_resched();
	}
}

/*
 * The kernel before this one may have left keys in the crash region: a kdump
 * kernel reset without a reboot notifier, a running kernel that panicked
 * with no image loaded while keys waited there. Nothing in the region is
 * this kernel's yet, and no load can come before late_initcall.
 */
static void __init wipe_crash_region(void)
{
	u64 bytes = region_bytes(&crashk_res) + region_bytes(&crashk_low_res);
	u64 start = ktime_get_ns();

	if (!bytes)
		return;
	if (keep_crash_region) {
		pr_info("crash region kept as found (keep_crash_region)\n");
		return;
	}
	wipe_resource(&crashk_res);
	wipe_resource(&crashk_low_res);
	pr_info("crash region wiped: %llu MiB in %llu us\n", bytes >> 20,
		div_u64(ktime_get_ns() - start, NSEC_PER_USEC));
}

/* The hand-over a boot found, mapped; a normal boot's is stale and goes. */
static void __init map_handover(void)
{
	if (!handover_size || !handover_in_place())
		return;
	handover_map = crash_dm_crypt_map_handover(handover_addr,
						   handover_size);
	if (!handover_map) {
		pr_err("cannot map the key blob, ignored\n");
		handover_size = 0;
	} else if (!is_kdump_kernel()) {
		discard_handover();
	}
}

static struct configfs_subsystem keys_subsys;

static int __init crash_dm_crypt_init(void)
{
	int ret;

	map_handover();
	wipe_mainline_handover();

	config_group_init_type_name(&keys_subsys.su_group,
				    "crash_key_handover",
				    is_kdump_kernel() ? &kdump_keys_type
						      : &keys_type);
	mutex_init(&keys_subsys.su_mutex);
	ret = configfs_register_subsystem(&keys_subsys);
	if (ret) {
		pr_err("cannot register configfs subsystem (%d)\n", ret);
		return ret;
	}
	if (is_kdump_kernel()) {
		register_reboot_notifier(&wipe_handover_reboot);
		atomic_notifier_chain_register(&panic_notifier_list,
					       &wipe_handover_panic);
	} else {
		wipe_crash_region();
		register_reboot_notifier(&wipe_on_reboot);
		register_pm_notifier(&hibernation_check);
	}
	create_test_probe();
	return 0;
}
late_initcall(crash_dm_crypt_init);

// SPDX-License-Identifier: GPL-2.0
/*
 * Hand dm-crypt volume keys to the kdump kernel.
 *
 * Running kernel: userspace registers one configfs item per LUKS volume
 * (named by its UUID) whose description names a logon key holding the volume
 * key. When a crash image is loaded with kexec_file_load, the keys are
 * serialised into a checksummed blob (include/linux/crash_key_blob.h) that
 * becomes a kexec segment at a random place in the crash reservation. The
 * architecture tells the kdump kernel where it is and keeps its pages out of
 * the running kernel's mapping until the image is unloaded or replaced.
 *
 * kdump kernel: writing 1 to "restore" validates the whole blob, recreates
 * every key as a user key in the writer's keyring, then wipes the blob and
 * gives its pages back.
 *
 * Keys never stay behind: every transient copy is wiped, a blob in the crash
 * region lives exactly as long as the crash image it belongs to.
 */
#define pr_fmt(fmt) "crash_dm_crypt: " fmt

#include <linux/configfs.h>
#include <linux/crash_core.h>
#include <linux/crash_dm_crypt.h>
#include <linux/crash_dump.h>
#include <linux/crash_key_blob.h>
#include <linux/cred.h>
#include <linux/debugfs.h>
#include <linux/io.h>
#include <linux/ioport.h>
#include <linux/kexec.h>
#include <linux/key.h>
#include <linux/keyctl.h>
#include <linux/mm.h>
#include <linux/random.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/uuid.h>
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
	struct key *key;	/* logon key, held from description write to rmdir */
};

static DEFINE_MUTEX(items_lock);	/* key_items, item_count, key_item fields, reuse */
static LIST_HEAD(key_items);
static unsigned int item_count;
static bool reuse_requested;

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

CONFIGFS_ATTR(key_item_, description);

static struct configfs_attribute *key_item_attrs[] = {
	&key_item_attr_description,
	NULL,
};

static void key_item_release(struct config_item *item)
{
	struct key_item *ki = to_key_item(item);

	mutex_lock(&items_lock);
	list_del(&ki->node);
	item_count--;
	mutex_unlock(&items_lock);
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

CONFIGFS_ATTR_RO(keys_, count);
CONFIGFS_ATTR(keys_, reuse);

static struct configfs_attribute *keys_attrs[] = {
	&keys_attr_count,
	&keys_attr_reuse,
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
 * At most one blob lives in the crash region: the one of the loaded crash
 * image, with its pages not present. Loading or unloading a crash image
 * frees the old image first, so begin_load() wipes the old blob right away
 * (keeping a checked copy if "reuse" asks for it); end_load() wipes what a
 * failed load left and unmaps the blob of the image that got installed.
 */

struct blob_buf {
	void *data;
	size_t len;	/* blob length */
	size_t size;	/* allocation size, for wiping */
};

static struct {
	struct blob_buf pending;	/* source of the segment being loaded */
	struct blob_buf reuse;		/* checked copy of the previous blob */
	phys_addr_t addr;		/* blob of the installed crash image */
	size_t size;
} loaded;

#ifdef CONFIG_CRASH_DM_CRYPT_TEST_PROBE
/*
 * Fault injection for tests: the next load fails right after its blob is
 * placed, in every placement an arch loader tries.
 */
static bool fail_next_load;

/*
 * Boundary tests: the next load takes the lowest (1) or the highest (2) page
 * of its window instead of a random one.
 */
enum { PLACE_RANDOM, PLACE_LOWEST, PLACE_HIGHEST };
static u32 place_next_load;

/*
 * Memory checks for tests: where the last blob was placed (the placement
 * outlives the blob, so that a test can read the wiped pages through
 * /dev/mem), and a knob that skips the next wipe, so that such a test can
 * show it would see a blob that was not wiped.
 */
static struct {
	unsigned long addr, size, min, max;
} last_placed;
static bool skip_next_wipe;

/*
 * Tamper test: the next load flips one bit of its blob after the blob's own
 * digest was computed and before kexec digests the segment, as a change after
 * the load that only the blob's digest can catch: the kdump kernel must refuse
 * it. (A change after kexec's digest stops the purgatory instead, where there
 * is one.)
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

static bool skip_wipe(void)
{
	bool skip = skip_next_wipe;

	skip_next_wipe = false;
	return skip;
}

static int injected_failure(void)
{
	return fail_next_load ? -ECANCELED : 0;
}

static unsigned long injected_start(unsigned long min, unsigned long max,
				    unsigned long memsz, unsigned long start)
{
	min = PAGE_ALIGN(min);
	if (place_next_load == PLACE_LOWEST)
		return min;
	if (place_next_load == PLACE_HIGHEST)
		return min + (max - min + 1 - memsz) / PAGE_SIZE * PAGE_SIZE;
	return start;
}

static void injection_done(void)
{
	fail_next_load = false;
	place_next_load = PLACE_RANDOM;
	corrupt_next_load = false;
}
#else
static inline void record_placement(const struct kexec_buf *kbuf,
				    unsigned long min, unsigned long max) { }

static inline bool skip_wipe(void)
{
	return false;
}

static inline int injected_failure(void)
{
	return 0;
}

static inline void injected_corruption(struct blob_buf *b) { }

static inline unsigned long injected_start(unsigned long min,
					   unsigned long max,
					   unsigned long memsz,
					   unsigned long start)
{
	return start;
}

static inline void injection_done(void) { }
#endif

static void blob_buf_free(struct blob_buf *b)
{
	kvfree_sensitive(b->data, b->size);
	*b = (struct blob_buf){};
}

static int count_entry(const struct crash_key_ref *ref, void *arg)
{
	return 0;
}

static void wipe_region(phys_addr_t addr, size_t size)
{
	if (!skip_wipe())
		memzero_explicit(phys_to_virt(addr), size);
}

static void keep_blob_for_reuse(void)
{
	const void *blob = phys_to_virt(loaded.addr);
	const char *why = NULL;
	void *copy;

	if (crash_key_blob_parse(blob, loaded.size, count_entry, NULL, &why)) {
		pr_err("previous key blob damaged (%s), cannot reuse it\n", why);
		return;
	}
	copy = kvmalloc(loaded.size, GFP_KERNEL);
	if (!copy)
		return;
	memcpy(copy, blob, loaded.size);
	loaded.reuse = (struct blob_buf){
		.data = copy, .len = loaded.size, .size = loaded.size };
}

void crash_dm_crypt_begin_load(void)
{
	bool reuse;

	if (!loaded.size)
		return;
	if (arch_crash_dm_crypt_set_present(loaded.addr, loaded.size, true)) {
		pr_err("cannot map the previous key blob to wipe it\n");
		return;
	}
	mutex_lock(&items_lock);
	reuse = reuse_requested;
	mutex_unlock(&items_lock);
	if (reuse)
		keep_blob_for_reuse();
	wipe_region(loaded.addr, loaded.size);
	loaded.addr = 0;
	loaded.size = 0;
}

void crash_dm_crypt_end_load(struct kimage *failed)
{
	struct kimage *image = kexec_crash_image;
	int ret;

	if (failed && failed->dm_crypt_keys_sz)
		wipe_region(failed->dm_crypt_keys_addr, failed->dm_crypt_keys_sz);
	blob_buf_free(&loaded.pending);
	blob_buf_free(&loaded.reuse);
	injection_done();

	if (!image || !image->dm_crypt_keys_sz)
		return;
	mutex_lock(&items_lock);
	reuse_requested = false;
	mutex_unlock(&items_lock);
	loaded.addr = image->dm_crypt_keys_addr;
	loaded.size = image->dm_crypt_keys_sz;
	ret = arch_crash_dm_crypt_set_present(loaded.addr, loaded.size, false);
	if (ret)
		pr_err("cannot unmap the key blob (%d), it stays readable\n", ret);
}

static int append_key(struct crash_key_blob_writer *w, struct key_item *ki)
{
	const struct user_key_payload *payload;
	int ret;

	if (!ki->key) {
		pr_err("%s: no key description written\n",
		       config_item_name(&ki->item));
		return -ENOKEY;
	}
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
	return ret;
}

static int build_blob(struct blob_buf *out)
{
	struct crash_key_blob_writer w;
	struct blob_buf b = {};
	struct key_item *ki;
	int ret = 0;

	mutex_lock(&items_lock);
	if (!item_count)
		goto unlock;
	b.size = crash_key_blob_max_len(item_count);
	b.data = kvzalloc(b.size, GFP_KERNEL);
	if (!b.data) {
		ret = -ENOMEM;
		goto unlock;
	}
	crash_key_blob_start(&w, b.data, b.size);
	list_for_each_entry(ki, &key_items, node) {
		ret = append_key(&w, ki);
		if (ret)
			break;
	}
	if (!ret)
		b.len = crash_key_blob_finish(&w);
unlock:
	mutex_unlock(&items_lock);
	if (ret)
		blob_buf_free(&b);
	else
		*out = b;
	return ret;
}

static int copy_reuse_blob(struct blob_buf *out)
{
	struct blob_buf *r = &loaded.reuse;

	out->data = kvmalloc(r->size, GFP_KERNEL);
	if (!out->data)
		return -ENOMEM;
	memcpy(out->data, r->data, r->size);
	out->len = r->len;
	out->size = r->size;
	return 0;
}

/* Random page-aligned start for @memsz bytes inside [min, max]. */
VISIBLE_IF_KUNIT int crash_dm_crypt_random_start(unsigned long min,
						 unsigned long max,
						 unsigned long memsz,
						 unsigned long *start)
{
	unsigned long slots;

	min = PAGE_ALIGN(min);
	if (max < min || max - min + 1 < memsz)
		return -EADDRNOTAVAIL;
	slots = (max - min + 1 - memsz) / PAGE_SIZE + 1;
	*start = min + (get_random_u64() % slots) * PAGE_SIZE;
	return 0;
}
EXPORT_SYMBOL_IF_KUNIT(crash_dm_crypt_random_start);

/*
 * kexec_file has no random placement in 6.12: narrow the hole search to the
 * part of the window above a random page (first fit going up), and if that
 * part is full, below it (first fit going down).
 */
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

	min = max_t(unsigned long, min, crashk_res.start);
	max = min_t(unsigned long, max, crashk_res.end);
	ret = crash_dm_crypt_random_start(min, max, kbuf.memsz, &start);
	if (ret)
		return ret;
	start = injected_start(min, max, kbuf.memsz, start);

	kbuf.mem = KEXEC_BUF_MEM_UNKNOWN;
	kbuf.buf_min = start;
	kbuf.buf_max = max;
	ret = kexec_add_buffer(&kbuf);
	if (ret == -EADDRNOTAVAIL) {
		kbuf.mem = KEXEC_BUF_MEM_UNKNOWN;
		kbuf.buf_min = min;
		kbuf.buf_max = start + kbuf.memsz - 1;
		kbuf.top_down = true;
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
	struct blob_buf *b = &loaded.pending;
	unsigned long mem;
	int ret;

	/* An arch loader may retry with other placements: start afresh. */
	blob_buf_free(b);
	image->dm_crypt_keys_addr = 0;
	image->dm_crypt_keys_sz = 0;

	ret = loaded.reuse.data ? copy_reuse_blob(b) : build_blob(b);
	if (ret || !b->data)
		return ret;
	injected_corruption(b);

	ret = add_random_segment(image, b, min, max, &mem);
	if (ret) {
		pr_err("no room for %zu bytes of keys in the crash region (%d)\n",
		       b->len, ret);
		blob_buf_free(b);
		return ret;
	}
	image->dm_crypt_keys_addr = mem;
	image->dm_crypt_keys_sz = PAGE_ALIGN(b->len);

	/*
	 * Mapping mapped pages changes nothing, but tells now, while the load
	 * can still fail cleanly, whether this kernel could unmap them.
	 */
	ret = arch_crash_dm_crypt_set_present(mem, image->dm_crypt_keys_sz, true);
	if (ret) {
		pr_err("cannot unmap pages in this kernel's mapping (%d), refusing to load keys\n",
		       ret);
		return ret;
	}
	return injected_failure();
}

bool crash_dm_crypt_range(const struct kimage *image, unsigned long *start,
			  unsigned long *end)
{
	if (!image->dm_crypt_keys_sz)
		return false;
	*start = image->dm_crypt_keys_addr;
	*end = image->dm_crypt_keys_addr + image->dm_crypt_keys_sz - 1;
	return true;
}

/* ---------------------------------------------------------------------------
 * Restoring keys (kdump kernel)
 */

static phys_addr_t handover_addr;
static size_t handover_size;
static DEFINE_MUTEX(restore_lock);

void __init crash_dm_crypt_set_handover(phys_addr_t addr, size_t size)
{
	handover_addr = addr;
	handover_size = size;
}

/* Wipe the handed-over blob and give its pages back if they are RAM. */
static void discard_handover(void *blob)
{
	memzero_explicit(blob, handover_size);
	memunmap(blob);
	if (region_intersects(handover_addr, handover_size,
			      IORESOURCE_SYSTEM_RAM, IORES_DESC_NONE) ==
	    REGION_INTERSECTS)
		free_reserved_area(phys_to_virt(handover_addr),
				   phys_to_virt(handover_addr + handover_size),
				   -1, "crash key blob");
	handover_size = 0;
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

static int restore_keys(void)
{
	struct restore_ctx ctx = {};
	const char *why = NULL;
	void *blob;
	int ret;

	if (!handover_size)
		return -ENOENT;
	ctx.created = kcalloc(CRASH_KEY_MAX_KEYS, sizeof(*ctx.created),
			      GFP_KERNEL);
	if (!ctx.created)
		return -ENOMEM;
	ctx.keyring = lookup_user_key(KEY_SPEC_USER_KEYRING, KEY_LOOKUP_CREATE,
				      KEY_NEED_WRITE);
	ret = PTR_ERR_OR_ZERO(ctx.keyring);
	if (ret)
		goto out_free;
	blob = memremap(handover_addr, handover_size, MEMREMAP_WB);
	if (!blob) {
		ret = -ENOMEM;
		goto out_keyring;
	}

	ret = crash_key_blob_parse(blob, handover_size, restore_one, &ctx, &why);
	if (why) {
		/* Nothing was restored; the blob is no use to anyone. */
		pr_err("key blob rejected: %s; no keys restored\n", why);
		discard_handover(blob);
	} else if (ret) {
		/* Keep the blob so that a later write can retry. */
		put_restored(&ctx, true);
		memunmap(blob);
	} else {
		pr_info("restored %u keys\n", ctx.count);
		put_restored(&ctx, false);
		discard_handover(blob);
	}
out_keyring:
	key_ref_put(ctx.keyring);
out_free:
	kfree(ctx.created);
	return ret;
}

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
#ifdef CONFIG_CRASH_DM_CRYPT_TEST_PROBE
static int blob_pages_show(struct seq_file *m, void *v)
{
	unsigned long pages, readable = 0, i;
	phys_addr_t addr;
	char byte;

	if (!kexec_trylock())
		return -EBUSY;
	addr = loaded.addr;
	pages = loaded.size >> PAGE_SHIFT;
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

static void __init create_test_probe(void)
{
	struct dentry *dir = debugfs_create_dir("crash_dm_crypt", NULL);

	debugfs_create_file("blob_pages", 0400, dir, NULL, &blob_pages_fops);
	debugfs_create_bool("fail_next_load", 0600, dir, &fail_next_load);
	debugfs_create_u32("place_next_load", 0600, dir, &place_next_load);
	debugfs_create_file("last_placed", 0400, dir, NULL, &last_placed_fops);
	debugfs_create_bool("skip_next_wipe", 0600, dir, &skip_next_wipe);
	debugfs_create_bool("corrupt_next_load", 0600, dir, &corrupt_next_load);
}
#else
static inline void create_test_probe(void) { }
#endif

static struct configfs_subsystem keys_subsys;

static int __init crash_dm_crypt_init(void)
{
	void *blob;
	int ret;

	if (!is_kdump_kernel() && handover_size) {
		/* Booted normally with a stale hand-over: drop it. */
		blob = memremap(handover_addr, handover_size, MEMREMAP_WB);
		if (blob)
			discard_handover(blob);
	}

	config_group_init_type_name(&keys_subsys.su_group,
				    "crash_dm_crypt_keys",
				    is_kdump_kernel() ? &kdump_keys_type
						      : &keys_type);
	mutex_init(&keys_subsys.su_mutex);
	ret = configfs_register_subsystem(&keys_subsys);
	if (ret) {
		pr_err("cannot register configfs subsystem (%d)\n", ret);
		return ret;
	}
	create_test_probe();
	return 0;
}
late_initcall(crash_dm_crypt_init);

// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit tests for the dm-crypt key hand-over: the blob format (also on
 * big-endian machines, against a fixed byte vector), the configfs name
 * check, uniform random placement (with a control that shows the test
 * catches a biased one), the checks of a handed-over location and the
 * architecture's page unmapping.
 */
#include <kunit/test.h>
#include <linux/crash_dm_crypt.h>
#include <linux/crash_key_blob.h>
#include <linux/crash_reserve.h>
#include <linux/io.h>
#include <linux/kexec.h>
#include <linux/mm.h>
#include <linux/random.h>
#include <linux/sizes.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/unaligned.h>

#include "crash_dm_crypt_internal.h"

/* ---- blob format ---- */

static const u8 uuid_a[CRASH_KEY_UUID_LEN] = {
	0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0xde, 0xf0,
	0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef,
};

/* One entry, description "d:1", key 01 02 03: every byte spelled out. */
static const u8 one_entry_prefix[] = {
	0x43, 0x4b, 0x45, 0x59,		/* magic "CKEY" */
	0x01, 0x00,			/* version 1 */
	0x18, 0x00,			/* header_len 24 */
	0x56, 0x00, 0x00, 0x00,		/* total_len 24 + 24 + 3 + 3 + 32 = 86 */
	0x01, 0x00, 0x00, 0x00,		/* count 1 */
	0x00, 0x00, 0x00, 0x00,		/* flags */
	0x00, 0x00, 0x00, 0x00,		/* reserved */
	0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0xde, 0xf0,
	0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef,
	0x03, 0x00,			/* key_len 3 */
	0x03, 0x00,			/* desc_len 3 */
	0x00, 0x00, 0x00, 0x00,		/* reserved */
	'd', ':', '1',
	0x01, 0x02, 0x03,
};

struct visit_log {
	unsigned int calls;
	unsigned int key_bytes;
	u8 first_key0;
};

static int log_visit(const struct crash_key_ref *ref, void *arg)
{
	struct visit_log *log = arg;

	if (!log->calls)
		log->first_key0 = ref->key[0];
	log->calls++;
	log->key_bytes += ref->key_len;
	return 0;
}

/* Build @n entries with 64-byte keys (the size of an AES-XTS-512 key). */
static size_t build(struct kunit *test, u8 **out, unsigned int n)
{
	struct crash_key_blob_writer w;
	size_t cap = crash_key_blob_max_len(n);
	u8 key[64];
	unsigned int i;
	u8 *buf;

	buf = kunit_kzalloc(test, cap, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, buf);
	crash_key_blob_start(&w, buf, cap);
	for (i = 0; i < n; i++) {
		memset(key, i + 1, sizeof(key));
		KUNIT_ASSERT_EQ(test, crash_key_blob_add(&w, uuid_a, "desc:key",
							 8, key, sizeof(key)),
				0);
	}
	*out = buf;
	return crash_key_blob_finish(&w);
}

static void blob_byte_order(struct kunit *test)
{
	struct crash_key_blob_writer w;
	u8 buf[128] = {};
	size_t len;

	crash_key_blob_start(&w, buf, sizeof(buf));
	KUNIT_ASSERT_EQ(test, crash_key_blob_add(&w, uuid_a, "d:1", 3,
						 (const u8 *)"\1\2\3", 3), 0);
	len = crash_key_blob_finish(&w);
	KUNIT_EXPECT_EQ(test, len, sizeof(one_entry_prefix) + 32);
	KUNIT_EXPECT_MEMEQ(test, buf, one_entry_prefix,
			   sizeof(one_entry_prefix));
}

static void blob_round_trip(struct kunit *test)
{
	struct visit_log log = {};
	u8 *blob;
	size_t len = build(test, &blob, 3);

	KUNIT_EXPECT_EQ(test, crash_key_blob_parse(blob, len, log_visit, &log,
						   NULL), 0);
	KUNIT_EXPECT_EQ(test, log.calls, 3);
	KUNIT_EXPECT_EQ(test, log.key_bytes, 3 * 64);
	KUNIT_EXPECT_EQ(test, log.first_key0, 1);
}

static void blob_max_keys(struct kunit *test)
{
	struct crash_key_blob_writer w;
	struct visit_log log = {};
	u8 *blob;
	size_t len = build(test, &blob, CRASH_KEY_MAX_KEYS);

	KUNIT_EXPECT_EQ(test, crash_key_blob_parse(blob, len, log_visit, &log,
						   NULL), 0);
	KUNIT_EXPECT_EQ(test, log.calls, CRASH_KEY_MAX_KEYS);

	/* One more does not fit, whatever the room. */
	w = (struct crash_key_blob_writer){ .buf = blob, .cap = SIZE_MAX,
		.pos = len - CRASH_KEY_DIGEST_LEN, .count = CRASH_KEY_MAX_KEYS };
	KUNIT_EXPECT_EQ(test, crash_key_blob_add(&w, uuid_a, "d:1", 3,
						 (const u8 *)"k", 1), -ENOSPC);
}

/*
 * Mainline's hand-over, as a mainline running kernel writes it: a count, then
 * per key its length, a 128-byte description and 256 bytes of key. Our parser
 * must refuse every size of it, and say whose format it is.
 */
static void blob_mainline_format(struct kunit *test)
{
	static const unsigned int counts[] = { 1, 3, 10, 128 };
	const char *why;
	unsigned int i, k;
	size_t len;
	u8 *blob, *entry;

	for (i = 0; i < ARRAY_SIZE(counts); i++) {
		len = PAGE_ALIGN(4 + counts[i] * 388);
		blob = kunit_kzalloc(test, len, GFP_KERNEL);
		KUNIT_ASSERT_NOT_NULL(test, blob);
		put_unaligned_le32(counts[i], blob);
		for (k = 0; k < counts[i]; k++) {
			entry = blob + 4 + k * 388;
			put_unaligned_le32(64, entry);
			snprintf(entry + 4, 128, "kdump-cryptsetup:vk-%u", k);
			memset(entry + 4 + 128, 0x5a, 64);
		}
		why = NULL;
		KUNIT_EXPECT_EQ(test, crash_key_blob_parse(blob, len, log_visit,
							   NULL, &why), -EINVAL);
		KUNIT_EXPECT_NOT_NULL(test, why);
		if (why)
			KUNIT_EXPECT_NOT_NULL(test, strstr(why, "mainline"));
	}
}

static void blob_truncated(struct kunit *test)
{
	struct visit_log log = {};
	u8 *blob;
	size_t len = build(test, &blob, 2), cut;

	for (cut = 0; cut < len; cut++)
		KUNIT_EXPECT_LT(test, crash_key_blob_parse(blob, cut, log_visit,
							   &log, NULL), 0);
	KUNIT_EXPECT_EQ(test, log.calls, 0);
}

static void blob_bit_flips(struct kunit *test)
{
	struct visit_log log = {};
	u8 *blob;
	size_t len = build(test, &blob, 2), i;
	int bit, ret;

	for (i = 0; i < len; i++) {
		for (bit = 0; bit < 8; bit++) {
			blob[i] ^= 1 << bit;
			ret = crash_key_blob_parse(blob, len, log_visit, &log,
						   NULL);
			KUNIT_EXPECT_LT(test, ret, 0);
			blob[i] ^= 1 << bit;
		}
	}
	KUNIT_EXPECT_EQ(test, log.calls, 0);
}

struct writer_limit_case {
	const char *name;
	size_t desc_len;
	size_t key_len;
	int expect;
};

static const struct writer_limit_case writer_limits[] = {
	{ "empty key", 3, 0, -EINVAL },
	{ "largest key", 3, CRASH_KEY_MAX_KEY_LEN, 0 },
	{ "key too long", 3, CRASH_KEY_MAX_KEY_LEN + 1, -EINVAL },
	{ "empty description", 0, 32, -EINVAL },
	{ "longest description", CRASH_KEY_MAX_DESC_LEN, 32, 0 },
	{ "description too long", CRASH_KEY_MAX_DESC_LEN + 1, 32, -EINVAL },
};

static void writer_limit_desc(const struct writer_limit_case *c, char *desc)
{
	strscpy(desc, c->name, KUNIT_PARAM_DESC_SIZE);
}

KUNIT_ARRAY_PARAM(writer_limit, writer_limits, writer_limit_desc);

static void blob_writer_limits(struct kunit *test)
{
	const struct writer_limit_case *c = test->param_value;
	struct crash_key_blob_writer w;
	size_t cap = crash_key_blob_max_len(1) + 1;
	u8 *buf = kunit_kzalloc(test, cap, GFP_KERNEL);
	u8 *src = kunit_kzalloc(test, 512, GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(test, buf);
	KUNIT_ASSERT_NOT_NULL(test, src);
	memset(src, 'x', 512);
	crash_key_blob_start(&w, buf, cap);
	KUNIT_EXPECT_EQ(test, crash_key_blob_add(&w, uuid_a, src, c->desc_len,
						 src, c->key_len), c->expect);
}

/* ---- configfs item names ---- */

struct name_case {
	const char *name;
	bool valid;
};

static const struct name_case names[] = {
	{ "0c6e5e1a-8a3f-4d5e-9b2c-1f2e3d4c5b6a", true },
	{ "0C6E5E1A-8A3F-4D5E-9B2C-1F2E3D4C5B6A", false },
	{ "0c6e5e1a-8a3f-4d5e-9b2c-1f2e3d4c5b6", false },
	{ "0c6e5e1a-8a3f-4d5e-9b2c-1f2e3d4c5b6a0", false },
	{ "0c6e5e1a08a3f-4d5e-9b2c-1f2e3d4c5b6a", false },
	{ "0c6e5e1a-8a3f-4d5e-9b2c-1f2e3d4c5b6g", false },
	{ "", false },
	{ "../../etc", false },
};

static void name_desc(const struct name_case *c, char *desc)
{
	snprintf(desc, KUNIT_PARAM_DESC_SIZE, "\"%s\"", c->name);
}

KUNIT_ARRAY_PARAM(name, names, name_desc);

static void item_name_check(struct kunit *test)
{
	const struct name_case *c = test->param_value;

	KUNIT_EXPECT_EQ(test, crash_dm_crypt_name_valid(c->name), c->valid);
}

/* ---- random placement ---- */

struct place_log {
	unsigned long start;
	unsigned int tries;
	int answer;		/* what the arch's hole finder says */
};

static int log_try(unsigned long start, void *arg)
{
	struct place_log *log = arg;

	log->start = start;
	log->tries++;
	return log->answer;
}

static void place_in_window(struct kunit *test)
{
	unsigned long min = 0x1000000, max = 0x1ffffff, memsz = 3 * PAGE_SIZE;
	struct place_log log = {};
	unsigned long first = 0;
	bool moved = false;
	int i;

	for (i = 0; i < 200; i++) {
		KUNIT_ASSERT_EQ(test, crash_dm_crypt_place(min, max, memsz,
							   log_try, &log), 0);
		KUNIT_EXPECT_GE(test, log.start, min);
		KUNIT_EXPECT_LE(test, log.start + memsz - 1, max);
		KUNIT_EXPECT_TRUE(test, PAGE_ALIGNED(log.start));
		if (!i)
			first = log.start;
		else if (log.start != first)
			moved = true;
	}
	KUNIT_EXPECT_EQ(test, log.tries, 200);
	KUNIT_EXPECT_TRUE(test, moved);
}

static void place_exact_fit(struct kunit *test)
{
	unsigned long base = 0x10000;
	struct place_log log = {};

	KUNIT_EXPECT_EQ(test, crash_dm_crypt_place(base, base + 2 * PAGE_SIZE - 1,
						   2 * PAGE_SIZE, log_try, &log), 0);
	KUNIT_EXPECT_EQ(test, log.start, base);
	log.tries = 0;
	KUNIT_EXPECT_EQ(test, crash_dm_crypt_place(base, base + PAGE_SIZE - 1,
						   2 * PAGE_SIZE, log_try, &log),
			-EADDRNOTAVAIL);
	KUNIT_EXPECT_EQ(test, log.tries, 0);
}

/* No room anywhere: a bounded number of tries; other errors end at once. */
static void place_errors(struct kunit *test)
{
	struct place_log log = { .answer = -EADDRNOTAVAIL };

	KUNIT_EXPECT_EQ(test, crash_dm_crypt_place(0, SZ_1M - 1, PAGE_SIZE,
						   log_try, &log),
			-EADDRNOTAVAIL);
	KUNIT_EXPECT_GT(test, log.tries, 0);
	KUNIT_EXPECT_LE(test, log.tries, 1024);
	log = (struct place_log){ .answer = -ENOMEM };
	KUNIT_EXPECT_EQ(test, crash_dm_crypt_place(0, SZ_1M - 1, PAGE_SIZE,
						   log_try, &log), -ENOMEM);
	KUNIT_EXPECT_EQ(test, log.tries, 1);
}

/*
 * Uniformity, in a 64-page window where pages 8..23 and 40..43 hold other
 * segments (a kernel, an initrd): the 44 free pages must be equally likely.
 * Pearson's chi-square over 250 placements per free page, 43 degrees of
 * freedom: 103 is exceeded by chance with a probability of about 1e-6.
 */
#define WINDOW_PAGES	64
#define PER_PAGE	250
#define CHI2_LIMIT	103

struct free_map {
	unsigned int hits[WINDOW_PAGES];
};

static bool page_taken(unsigned long page)
{
	return (page >= 8 && page < 24) || (page >= 40 && page < 44);
}

static int try_free_page(unsigned long start, void *arg)
{
	struct free_map *map = arg;
	unsigned long page = start / PAGE_SIZE;

	if (page_taken(page))
		return -EADDRNOTAVAIL;
	map->hits[page]++;
	return 0;
}

static unsigned long chi2_over_free_pages(const struct free_map *map)
{
	unsigned long page, sum = 0;
	long d;

	for (page = 0; page < WINDOW_PAGES; page++) {
		if (page_taken(page))
			continue;
		d = (long)map->hits[page] - PER_PAGE;
		sum += d * d;
	}
	return sum / PER_PAGE;
}

static unsigned int free_page_count(void)
{
	unsigned int page, n = 0;

	for (page = 0; page < WINDOW_PAGES; page++)
		n += !page_taken(page);
	return n;
}

static void place_uniform(struct kunit *test)
{
	struct free_map *map = kunit_kzalloc(test, sizeof(*map), GFP_KERNEL);
	unsigned int i, n = free_page_count() * PER_PAGE;

	KUNIT_ASSERT_NOT_NULL(test, map);
	for (i = 0; i < n; i++)
		KUNIT_ASSERT_EQ(test, crash_dm_crypt_place(0, WINDOW_PAGES * PAGE_SIZE - 1,
							   PAGE_SIZE, try_free_page, map), 0);
	KUNIT_EXPECT_LT(test, chi2_over_free_pages(map), CHI2_LIMIT);
}

/*
 * The same test must catch what placement did before: a random page, then
 * the first free page above it (below it if none). Free pages right after a
 * segment then get the taken pages' share too.
 */
static void next_free_page(unsigned long page, struct free_map *map)
{
	unsigned long p;

	for (p = page; p < WINDOW_PAGES; p++)
		if (!page_taken(p))
			goto found;
	for (p = page; page_taken(p); p--)
		;
found:
	map->hits[p]++;
}

static void place_uniform_control(struct kunit *test)
{
	struct free_map *map = kunit_kzalloc(test, sizeof(*map), GFP_KERNEL);
	unsigned int i, n = free_page_count() * PER_PAGE;

	KUNIT_ASSERT_NOT_NULL(test, map);
	for (i = 0; i < n; i++)
		next_free_page(get_random_u32_below(WINDOW_PAGES), map);
	KUNIT_EXPECT_GT(test, chi2_over_free_pages(map), CHI2_LIMIT);
}

/* ---- hand-over location, as an untrusted device tree may give it ---- */

struct handover_case {
	const char *what;
	u64 addr, size;
	bool valid;
};

#define MAX_HANDOVER	PAGE_ALIGN(CRASH_KEY_BLOB_MAX_LEN)

static const struct handover_case handover_cases[] = {
	{ "one page", 0x1000000, PAGE_SIZE, true },
	{ "the format's maximum", 0x1000000, MAX_HANDOVER, true },
	{ "empty", 0x1000000, 0, false },
	{ "address not page-aligned", 0x1000010, PAGE_SIZE, false },
	{ "size not page-aligned", 0x1000000, PAGE_SIZE + 1, false },
	{ "over the format's maximum", 0x1000000, MAX_HANDOVER + PAGE_SIZE, false },
	{ "huge", 0x1000000, SZ_1G, false },
	{ "wraps around", (u64)-PAGE_SIZE, 2 * PAGE_SIZE, false },
	{ "ends at the top", (u64)-PAGE_SIZE, PAGE_SIZE,
	  IS_ENABLED(CONFIG_PHYS_ADDR_T_64BIT) },
};

static void handover_desc(const struct handover_case *c, char *desc)
{
	strscpy(desc, c->what, KUNIT_PARAM_DESC_SIZE);
}

KUNIT_ARRAY_PARAM(handover, handover_cases, handover_desc);

static void handover_location_check(struct kunit *test)
{
	const struct handover_case *c = test->param_value;

	KUNIT_EXPECT_EQ(test, crash_dm_crypt_handover_valid(c->addr, c->size),
			c->valid);
}

/* ---- hand-over location against what the boot uses ---- */

static const struct crash_dm_crypt_busy boot_busy[] = {
	{ 0x1000000, 0x200000, "kernel" },
	{ 0x4000000, 0x1000000, "initrd" },
	{ 0x8000000, 0x1000, "elfcorehdr" },
	{ 0x9000000, 0x10000, "fdt" },
	{ 0xa000000, 0, "empty" },
	{ (u64)-0x1000, 0x2000, "wrapping" },
};

struct clash_case {
	const char *what;
	u64 addr, size;
	const char *clash;
};

static const struct clash_case clash_cases[] = {
	{ "clear of everything", 0x2000000, PAGE_SIZE, NULL },
	{ "on the kernel's first page", 0x1000000, PAGE_SIZE, "kernel" },
	{ "on the kernel's last page", 0x11ff000, PAGE_SIZE, "kernel" },
	{ "right after the kernel", 0x1200000, PAGE_SIZE, NULL },
	{ "ending right before the kernel", 0xfff000, PAGE_SIZE, NULL },
	{ "inside the initrd", 0x4800000, 2 * PAGE_SIZE, "initrd" },
	{ "over the whole ELF core header", 0x7fff000, 3 * PAGE_SIZE, "elfcorehdr" },
	{ "on the device tree's last byte", 0x900f000, PAGE_SIZE, "fdt" },
	{ "where an empty range starts", 0xa000000, PAGE_SIZE, NULL },
	{ "under a range that wraps around", (u64)-0x2000, PAGE_SIZE, NULL },
	{ "on a range that wraps around", (u64)-0x1000, PAGE_SIZE, "wrapping" },
};

static void clash_desc(const struct clash_case *c, char *desc)
{
	strscpy(desc, c->what, KUNIT_PARAM_DESC_SIZE);
}

KUNIT_ARRAY_PARAM(clash, clash_cases, clash_desc);

static void handover_clear_of_boot(struct kunit *test)
{
	const struct clash_case *c = test->param_value;
	const char *got;

	got = crash_dm_crypt_handover_clash(c->addr, c->size, boot_busy,
					    ARRAY_SIZE(boot_busy));
	if (c->clash)
		KUNIT_EXPECT_STREQ(test, got ?: "(none)", c->clash);
	else
		KUNIT_EXPECT_NULL(test, got);
}

/* ---- the architecture's page unmapping ---- */

/*
 * On the last page of the crash region, where key blobs live: some arches
 * can unmap single pages only there (powerpc maps it page by page). Each
 * direction twice: the core's error paths repeat them.
 */
static void arch_unmaps_page(struct kunit *test)
{
	phys_addr_t phys = crashk_res.end + 1 - PAGE_SIZE;
	char byte;
	void *va;
	int i, ret;

	if (!crashk_res.end || kexec_crash_image)
		kunit_skip(test, "no crash region, or a crash image is loaded");
	va = phys_to_virt(phys);
	for (i = 0; i < 2; i++) {
		ret = arch_crash_dm_crypt_set_present(phys, PAGE_SIZE, false);
		KUNIT_ASSERT_EQ(test, ret, 0);
		KUNIT_EXPECT_NE(test, copy_from_kernel_nofault(&byte, va, 1), 0);
	}
	for (i = 0; i < 2; i++) {
		ret = arch_crash_dm_crypt_set_present(phys, PAGE_SIZE, true);
		KUNIT_ASSERT_EQ(test, ret, 0);
		KUNIT_EXPECT_EQ(test, copy_from_kernel_nofault(&byte, va, 1), 0);
	}
}

/*
 * The kdump kernel's mapping of a hand-over shows what was written through
 * the linear map. (With memory encryption, x86 maps it encrypted: TCG has
 * none, so only the plain path runs here.)
 */
static void handover_map_reads_memory(struct kunit *test)
{
	phys_addr_t phys = crashk_res.end + 1 - PAGE_SIZE;
	u8 *mapped;

	if (!crashk_res.end || kexec_crash_image)
		kunit_skip(test, "no crash region, or a crash image is loaded");
	memset(phys_to_virt(phys), 0x5a, PAGE_SIZE);
	mapped = crash_dm_crypt_map_handover(phys, PAGE_SIZE);
	KUNIT_ASSERT_NOT_NULL(test, mapped);
	KUNIT_EXPECT_EQ(test, mapped[0], 0x5a);
	KUNIT_EXPECT_EQ(test, mapped[PAGE_SIZE - 1], 0x5a);
	memunmap(mapped);
	memset(phys_to_virt(phys), 0, PAGE_SIZE);
}

static struct kunit_case crash_dm_crypt_cases[] = {
	KUNIT_CASE(blob_byte_order),
	KUNIT_CASE(blob_round_trip),
	KUNIT_CASE(blob_max_keys),
	KUNIT_CASE(blob_mainline_format),
	KUNIT_CASE(blob_truncated),
	KUNIT_CASE(blob_bit_flips),
	KUNIT_CASE_PARAM(blob_writer_limits, writer_limit_gen_params),
	KUNIT_CASE_PARAM(item_name_check, name_gen_params),
	KUNIT_CASE(place_in_window),
	KUNIT_CASE(place_exact_fit),
	KUNIT_CASE(place_errors),
	KUNIT_CASE(place_uniform),
	KUNIT_CASE(place_uniform_control),
	KUNIT_CASE_PARAM(handover_location_check, handover_gen_params),
	KUNIT_CASE_PARAM(handover_clear_of_boot, clash_gen_params),
	KUNIT_CASE(arch_unmaps_page),
	KUNIT_CASE(handover_map_reads_memory),
	{}
};

static struct kunit_suite crash_dm_crypt_suite = {
	.name = "crash_dm_crypt",
	.test_cases = crash_dm_crypt_cases,
};

kunit_test_suite(crash_dm_crypt_suite);

MODULE_DESCRIPTION("KUnit tests for dm-crypt key hand-over to kdump");
MODULE_LICENSE("GPL");

// SPDX-License-Identifier: GPL-2.0
/*
 * Host unit tests for the crash key blob (kernel/crash_key_blob.c), TAP output.
 *
 *   blob_test [--vectors DIR]          run every test; DIR holds *.bin test
 *                                      vectors, each with a *.expect file
 *   blob_test --write-vector FILE.bin  write the reference vector FILE.bin and
 *                                      FILE.expect with this host's writer
 *
 * Every integer the tests read or write in a blob goes through get/put
 * helpers of their own (little-endian, byte by byte), and the offsets are
 * written out below instead of taken from the header, so a layout or byte
 * order change in the code under test shows up as a failure.
 */
#include <linux/crash_key_blob.h>
#include <linux/errno.h>
#include <crypto/sha2.h>

#include <dirent.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>

#include "../helpers/hex.h"

#define HDR_LEN		24u
#define ENT_LEN		24u
#define DIGEST_LEN	32u
#define MIN_LEN		(HDR_LEN + DIGEST_LEN)
#define ENT_MAX_LEN	(ENT_LEN + 255u + 256u)

/* Header fields. */
#define H_MAGIC		0
#define H_VERSION	4
#define H_HEADER_LEN	6
#define H_TOTAL_LEN	8
#define H_COUNT		12
#define H_FLAGS		16
#define H_RESERVED	20
/* Entry fields, relative to the entry. */
#define E_UUID		0
#define E_KEY_LEN	16
#define E_DESC_LEN	18
#define E_RESERVED	20

/* ------------------------------------------------------------------ TAP */

static unsigned int tap_count;
static unsigned int tap_failures;
static unsigned int expect_misses;	/* failed EXPECTs in the current point */

static void diag(const char *fmt, ...)
{
	va_list ap;

	fputs("# ", stdout);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
}

static void tap_line(bool pass, const char *directive, const char *fmt,
		     va_list ap)
{
	tap_count++;
	printf("%sok %u - ", pass ? "" : "not ", tap_count);
	vprintf(fmt, ap);
	if (directive)
		printf(" # %s", directive);
	putchar('\n');
	fflush(stdout);
	expect_misses = 0;
}

static bool ok(bool pass, const char *fmt, ...)
{
	va_list ap;

	if (!pass)
		tap_failures++;
	va_start(ap, fmt);
	tap_line(pass, NULL, fmt, ap);
	va_end(ap);
	return pass;
}

/* Check one condition inside a test point; explain the first few misses. */
#define EXPECT(cond, ...) expect_at(!!(cond), __LINE__, __VA_ARGS__)

static bool expect_at(bool cond, int line, const char *fmt, ...)
{
	va_list ap;

	if (cond)
		return true;
	if (++expect_misses <= 8) {
		printf("#   line %d: ", line);
		va_start(ap, fmt);
		vprintf(fmt, ap);
		va_end(ap);
		putchar('\n');
	} else if (expect_misses == 9) {
		diag("  (further misses not shown)");
	}
	return false;
}

/* ------------------------------------------------------------ helpers */

static u32 get16(const u8 *p)
{
	return p[0] | (u32)p[1] << 8;
}

static u32 get32(const u8 *p)
{
	return get16(p) | get16(p + 2) << 16;
}

static void put16(u8 *p, u32 v)
{
	p[0] = v & 0xff;
	p[1] = (v >> 8) & 0xff;
}

static void put32(u8 *p, u32 v)
{
	put16(p, v & 0xffff);
	put16(p + 2, v >> 16);
}

static void *xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (!p) {
		fputs("Bail out! out of memory\n", stdout);
		exit(1);
	}
	return p;
}

static const char *errname(int err)
{
	static char buf[32];

	switch (err) {
	case 0:			return "0";
	case -EINVAL:		return "-EINVAL";
	case -EPROTONOSUPPORT:	return "-EPROTONOSUPPORT";
	case -EBADMSG:		return "-EBADMSG";
	case -ENOSPC:		return "-ENOSPC";
	}
	snprintf(buf, sizeof(buf), "%d", err);
	return buf;
}

static bool is_parse_errno(int err)
{
	return err == -EINVAL || err == -EPROTONOSUPPORT || err == -EBADMSG;
}

/* One key as the tests know it; the arrays leave room for over-long cases. */
struct entry {
	u8 uuid[CRASH_KEY_UUID_LEN];
	char desc[CRASH_KEY_MAX_DESC_LEN + 2];
	size_t desc_len;
	u8 key[CRASH_KEY_MAX_KEY_LEN + 2];
	size_t key_len;
};

/*
 * Deterministic content: the UUID encodes @seed, the description is capital
 * letters (two or more bits set, so no single bit flip makes a NUL), the key
 * is a byte pattern that differs between entries.
 */
static void fill_entry(struct entry *e, unsigned int seed, size_t desc_len,
		       size_t key_len)
{
	size_t i;

	memset(e, 0, sizeof(*e));
	for (i = 0; i < CRASH_KEY_UUID_LEN; i++)
		e->uuid[i] = (u8)(seed * 0x9d + i * 0x11 + (seed >> 8));
	for (i = 0; i < desc_len && i < sizeof(e->desc); i++)
		e->desc[i] = (char)('A' + (seed + i * 7) % 26);
	for (i = 0; i < key_len && i < sizeof(e->key); i++)
		e->key[i] = (u8)(seed * 0x3b + i * 0x1d + (i >> 4) + 0x5c);
	e->desc_len = desc_len;
	e->key_len = key_len;
}

static int add_entry(struct crash_key_blob_writer *w, const struct entry *e)
{
	return crash_key_blob_add(w, e->uuid, e->desc, e->desc_len, e->key,
				  e->key_len);
}

/*
 * Write @n entries into a heap buffer of exactly the blob's size (so that
 * ASan sees any read past the end). Returns NULL if the writer refused one.
 */
static u8 *build(const struct entry *ents, unsigned int n, size_t *len)
{
	size_t cap = crash_key_blob_max_len(n);
	struct crash_key_blob_writer w;
	u8 *tmp = xmalloc(cap), *out;
	unsigned int i;

	crash_key_blob_start(&w, tmp, cap);
	for (i = 0; i < n; i++) {
		if (add_entry(&w, &ents[i])) {
			free(tmp);
			return NULL;
		}
	}
	*len = crash_key_blob_finish(&w);
	out = xmalloc(*len);
	memcpy(out, tmp, *len);
	free(tmp);
	return out;
}

static size_t entry_size(const struct entry *e)
{
	return ENT_LEN + e->desc_len + e->key_len;
}

/* Put the SHA-256 of b[0..off) at b + off. */
static void reseal_at(u8 *b, size_t off)
{
	sha256(b, off, b + off);
}

/* Collects what crash_key_blob_parse() hands to the visitor. */
struct collect {
	const u8 *buf;
	size_t len;
	unsigned int calls;
	unsigned int stop_at;	/* 1-based call that returns stop_ret */
	int stop_ret;
	unsigned int max;
	struct crash_key_ref *refs;
	bool out_of_bounds;
};

static int collect_visit(const struct crash_key_ref *ref, void *arg)
{
	struct collect *c = arg;
	const u8 *end = c->buf + c->len;

	if (ref->uuid < c->buf || ref->uuid + CRASH_KEY_UUID_LEN > end ||
	    (const u8 *)ref->desc < c->buf ||
	    (const u8 *)ref->desc + ref->desc_len > end ||
	    ref->key < c->buf || ref->key + ref->key_len > end)
		c->out_of_bounds = true;
	if (c->calls < c->max)
		c->refs[c->calls] = *ref;
	c->calls++;
	if (c->stop_at && c->calls == c->stop_at)
		return c->stop_ret;
	return 0;
}

static void collect_init(struct collect *c, const u8 *buf, size_t len,
			 unsigned int max)
{
	memset(c, 0, sizeof(*c));
	c->buf = buf;
	c->len = len;
	c->max = max;
	c->refs = max ? calloc(max, sizeof(*c->refs)) : NULL;
	if (max && !c->refs) {
		fputs("Bail out! out of memory\n", stdout);
		exit(1);
	}
}

static int parse_collect(struct collect *c, const char **why)
{
	return crash_key_blob_parse(c->buf, c->len, collect_visit, c, why);
}

/* Do the collected refs match @ents exactly and in order? */
static bool refs_match(const struct collect *c, const struct entry *ents,
		       unsigned int n)
{
	bool pass = true;
	unsigned int i;

	pass &= EXPECT(c->calls == n, "visit called %u times, expected %u",
		       c->calls, n);
	pass &= EXPECT(!c->out_of_bounds, "a ref points outside the buffer");
	for (i = 0; i < n && i < c->calls && i < c->max; i++) {
		const struct crash_key_ref *r = &c->refs[i];
		const struct entry *e = &ents[i];

		pass &= EXPECT(!memcmp(r->uuid, e->uuid, CRASH_KEY_UUID_LEN),
			       "entry %u: uuid differs", i);
		pass &= EXPECT(r->desc_len == e->desc_len &&
			       !memcmp(r->desc, e->desc, e->desc_len),
			       "entry %u: description differs (len %u vs %zu)",
			       i, r->desc_len, e->desc_len);
		pass &= EXPECT(r->key_len == e->key_len &&
			       !memcmp(r->key, e->key, e->key_len),
			       "entry %u: key differs (len %u vs %zu)", i,
			       r->key_len, e->key_len);
	}
	return pass;
}

/* Build @n entries, parse them back, compare. */
static bool round_trip(const struct entry *ents, unsigned int n)
{
	struct collect c;
	const char *why = NULL;
	bool pass = true;
	size_t len = 0, want = MIN_LEN;
	unsigned int i;
	u8 *b;
	int ret;

	for (i = 0; i < n; i++)
		want += entry_size(&ents[i]);
	b = build(ents, n, &len);
	if (!EXPECT(b, "the writer refused an entry"))
		return false;
	pass &= EXPECT(len == want, "total %zu, expected %zu", len, want);
	pass &= EXPECT(get32(b + H_TOTAL_LEN) == len, "total_len field %u",
		       get32(b + H_TOTAL_LEN));
	pass &= EXPECT(get32(b + H_COUNT) == n, "count field %u",
		       get32(b + H_COUNT));
	collect_init(&c, b, len, n);
	ret = parse_collect(&c, &why);
	pass &= EXPECT(ret == 0, "parse returned %s (%s)", errname(ret),
		       why ? why : "no reason");
	pass &= refs_match(&c, ents, n);
	free(c.refs);
	free(b);
	return pass;
}

/* The 3-entry blob most parser tests start from. */
#define FIX_N 3
static struct entry fix[FIX_N];
static size_t fix_entry_off[FIX_N];

static u8 *fixture(size_t *len)
{
	size_t off = HDR_LEN;
	unsigned int i;

	fill_entry(&fix[0], 1, 5, 32);
	fill_entry(&fix[1], 2, 40, 64);
	fill_entry(&fix[2], 3, 255, 200);
	for (i = 0; i < FIX_N; i++) {
		fix_entry_off[i] = off;
		off += entry_size(&fix[i]);
	}
	return build(fix, FIX_N, len);
}

/* ------------------------------------------------------ round trips */

static void test_layout(void)
{
	bool pass = true;

	pass &= EXPECT(sizeof(struct crash_key_blob_header) == HDR_LEN,
		       "header is %zu bytes",
		       sizeof(struct crash_key_blob_header));
	pass &= EXPECT(sizeof(struct crash_key_blob_entry) == ENT_LEN,
		       "entry is %zu bytes", sizeof(struct crash_key_blob_entry));
	pass &= EXPECT(offsetof(struct crash_key_blob_header, total_len) ==
		       H_TOTAL_LEN && offsetof(struct crash_key_blob_header,
		       reserved) == H_RESERVED, "header field offsets");
	pass &= EXPECT(offsetof(struct crash_key_blob_entry, key_len) ==
		       E_KEY_LEN && offsetof(struct crash_key_blob_entry,
		       reserved) == E_RESERVED, "entry field offsets");
	pass &= EXPECT(CRASH_KEY_BLOB_MIN_LEN == MIN_LEN, "min len %zu",
		       (size_t)CRASH_KEY_BLOB_MIN_LEN);
	ok(pass, "layout: 24-byte header, 24-byte entry, documented offsets");
}

/*
 * The sizes docs/admin-guide.md and docs/abi.md quote: the largest blob, and
 * 1024 XTS-512 keys (64 bytes) under crashkey's 56-character descriptions
 * ("kdump-cryptsetup:vk-" + UUID), as written by the writer itself.
 */
static void test_documented_sizes(void)
{
	static const char desc[] =
		"kdump-cryptsetup:vk-0c6e5e1a-8a3f-4d5e-9b2c-1f2e3d4c5b6a";
	struct crash_key_blob_writer w;
	size_t cap = crash_key_blob_max_len(CRASH_KEY_MAX_KEYS), len;
	u8 *buf = calloc(1, cap), key[64] = { 1 }, uuid[16] = { 0 };
	unsigned int i;

	if (!buf) {
		fputs("Bail out! out of memory\n", stdout);
		exit(1);
	}
	ok(CRASH_KEY_BLOB_MAX_LEN == 547896, "largest blob is 547896 bytes");
	crash_key_blob_start(&w, buf, cap);
	for (i = 0; i < CRASH_KEY_MAX_KEYS; i++)
		crash_key_blob_add(&w, uuid, desc, sizeof(desc) - 1, key,
				   sizeof(key));
	len = crash_key_blob_finish(&w);
	ok(len == 147512 && 56 + 28 * 144 <= 4096 && 56 + 29 * 144 > 4096,
	   "1024 XTS-512 keys take 147512 bytes; one page holds 28 (got %zu)",
	   len);
	free(buf);
}

static void test_round_trips(void)
{
	static const unsigned int counts[] = { 0, 1, 3, CRASH_KEY_MAX_KEYS };
	struct entry *ents = calloc(CRASH_KEY_MAX_KEYS, sizeof(*ents));
	unsigned int t, i;

	if (!ents) {
		fputs("Bail out! out of memory\n", stdout);
		exit(1);
	}
	for (i = 0; i < CRASH_KEY_MAX_KEYS; i++)
		fill_entry(&ents[i], i, 1 + (i * 37) % 255, 1 + (i * 53) % 256);
	/* The extremes early, so that even the 1- and 3-entry runs see them. */
	fill_entry(&ents[0], 0, CRASH_KEY_MAX_DESC_LEN, CRASH_KEY_MAX_KEY_LEN);
	fill_entry(&ents[1], 1, 1, 1);
	fill_entry(&ents[2], 2, 128, 255);

	for (t = 0; t < sizeof(counts) / sizeof(counts[0]); t++)
		ok(round_trip(ents, counts[t]),
		   "round trip of %u entries: every field byte-exact, in order, visit called %u times",
		   counts[t], counts[t]);
	free(ents);
}

static void test_max_blob(void)
{
	struct entry *ents = calloc(CRASH_KEY_MAX_KEYS, sizeof(*ents));
	struct crash_key_blob_writer w;
	const char *why = NULL;
	struct collect c;
	bool pass = true;
	unsigned int i;
	size_t total;
	u8 *b;
	int ret;

	ok(crash_key_blob_max_len(0) == MIN_LEN &&
	   crash_key_blob_max_len(1) == MIN_LEN + ENT_MAX_LEN,
	   "crash_key_blob_max_len(0) == %u, (1) == %u", MIN_LEN,
	   MIN_LEN + ENT_MAX_LEN);
	ok(crash_key_blob_max_len(CRASH_KEY_MAX_KEYS) == CRASH_KEY_BLOB_MAX_LEN &&
	   CRASH_KEY_BLOB_MAX_LEN == MIN_LEN + 1024u * ENT_MAX_LEN,
	   "crash_key_blob_max_len(1024) == CRASH_KEY_BLOB_MAX_LEN == %u",
	   MIN_LEN + 1024u * ENT_MAX_LEN);

	if (!ents) {
		fputs("Bail out! out of memory\n", stdout);
		exit(1);
	}
	b = xmalloc(CRASH_KEY_BLOB_MAX_LEN);
	crash_key_blob_start(&w, b, CRASH_KEY_BLOB_MAX_LEN);
	for (i = 0; i < CRASH_KEY_MAX_KEYS; i++) {
		fill_entry(&ents[i], i, CRASH_KEY_MAX_DESC_LEN,
			   CRASH_KEY_MAX_KEY_LEN);
		ret = add_entry(&w, &ents[i]);
		pass &= EXPECT(ret == 0, "add %u returned %s", i, errname(ret));
	}
	total = crash_key_blob_finish(&w);
	pass &= EXPECT(total == CRASH_KEY_BLOB_MAX_LEN, "total %zu", total);
	collect_init(&c, b, total, CRASH_KEY_MAX_KEYS);
	ret = parse_collect(&c, &why);
	pass &= EXPECT(ret == 0, "parse returned %s (%s)", errname(ret),
		       why ? why : "");
	pass &= refs_match(&c, ents, CRASH_KEY_MAX_KEYS);
	ok(pass, "1024 maximum-size entries fill a CRASH_KEY_BLOB_MAX_LEN buffer exactly and parse back");
	free(c.refs);
	free(b);

	/* One byte less and the last entry no longer fits. */
	pass = true;
	b = xmalloc(CRASH_KEY_BLOB_MAX_LEN - 1);
	crash_key_blob_start(&w, b, CRASH_KEY_BLOB_MAX_LEN - 1);
	for (i = 0; i < CRASH_KEY_MAX_KEYS - 1; i++)
		pass &= EXPECT(add_entry(&w, &ents[i]) == 0, "add %u", i);
	ret = add_entry(&w, &ents[i]);
	pass &= EXPECT(ret == -ENOSPC, "last add returned %s", errname(ret));
	pass &= EXPECT(w.count == CRASH_KEY_MAX_KEYS - 1, "count %u", w.count);
	total = crash_key_blob_finish(&w);
	pass &= EXPECT(total == CRASH_KEY_BLOB_MAX_LEN - ENT_MAX_LEN,
		       "total %zu", total);
	pass &= EXPECT(crash_key_blob_parse(b, total, collect_visit, &c,
					    NULL) == 0, "parse failed");
	ok(pass, "CRASH_KEY_BLOB_MAX_LEN - 1 bytes: the 1024th maximum-size entry gets -ENOSPC");
	free(b);
	free(ents);
}

/* ---------------------------------------------------------- writer */

struct writer_case {
	const char *name;
	size_t desc_len;
	size_t key_len;
	long nul_at;		/* index of a NUL in the description, or -1 */
	int err;
};

static const struct writer_case writer_cases[] = {
	{ "key_len 0 rejected",		10, 0,   -1, -EINVAL },
	{ "key_len 1 accepted",		10, 1,   -1, 0 },
	{ "key_len 256 accepted",	10, 256, -1, 0 },
	{ "key_len 257 rejected",	10, 257, -1, -EINVAL },
	{ "desc_len 0 rejected",	0,  32,  -1, -EINVAL },
	{ "desc_len 1 accepted",	1,  32,  -1, 0 },
	{ "desc_len 255 accepted",	255, 32, -1, 0 },
	{ "desc_len 256 rejected",	256, 32, -1, -EINVAL },
	{ "desc_len 255 + key_len 256 accepted", 255, 256, -1, 0 },
	{ "NUL as first description byte rejected", 10, 32, 0, -EINVAL },
	{ "NUL inside a description rejected", 10, 32, 4, -EINVAL },
	{ "NUL as last description byte rejected", 255, 32, 254, -EINVAL },
	{ "desc_len SIZE_MAX rejected",	(size_t)-1, 32, -1, -EINVAL },
	{ "key_len SIZE_MAX rejected",	10, (size_t)-1, -1, -EINVAL },
};

/*
 * Each case is added after one good entry; a refused add must leave the
 * writer as it was, so the finished blob holds exactly the accepted entries.
 */
static void test_writer_limits(void)
{
	unsigned int t;

	for (t = 0; t < sizeof(writer_cases) / sizeof(writer_cases[0]); t++) {
		const struct writer_case *wc = &writer_cases[t];
		size_t cap = crash_key_blob_max_len(2);
		struct crash_key_blob_writer w;
		struct entry ents[2];
		struct collect c;
		const char *why = NULL;
		bool pass = true;
		size_t pos, total;
		unsigned int n;
		u8 *b = xmalloc(cap);
		int ret;

		fill_entry(&ents[0], 100, 7, 16);
		/* Lengths up to one past the limit have real bytes behind them. */
		fill_entry(&ents[1], 101,
			   wc->desc_len <= sizeof(ents[1].desc) ? wc->desc_len : 0,
			   wc->key_len <= sizeof(ents[1].key) ? wc->key_len : 0);
		ents[1].desc_len = wc->desc_len;
		ents[1].key_len = wc->key_len;
		if (wc->nul_at >= 0)
			ents[1].desc[wc->nul_at] = '\0';

		crash_key_blob_start(&w, b, cap);
		pass &= EXPECT(add_entry(&w, &ents[0]) == 0, "first add failed");
		pos = w.pos;
		ret = add_entry(&w, &ents[1]);
		pass &= EXPECT(ret == wc->err, "add returned %s, expected %s",
			       errname(ret), errname(wc->err));
		n = ret ? 1 : 2;
		if (ret)
			pass &= EXPECT(w.pos == pos && w.count == 1,
				       "refused add changed the writer (pos %zu->%zu, count %u)",
				       pos, w.pos, w.count);
		total = crash_key_blob_finish(&w);
		collect_init(&c, b, total, 2);
		ret = parse_collect(&c, &why);
		pass &= EXPECT(ret == 0, "parse returned %s (%s)", errname(ret),
			       why ? why : "");
		pass &= refs_match(&c, ents, n);
		ok(pass, "writer: %s (%s)", wc->name, errname(wc->err));
		free(c.refs);
		free(b);
	}
}

static void test_writer_key_limit(void)
{
	size_t cap = crash_key_blob_max_len(CRASH_KEY_MAX_KEYS + 1);
	struct crash_key_blob_writer w;
	struct collect c;
	struct entry e;
	bool pass = true;
	unsigned int i;
	size_t pos, total;
	u8 *b = xmalloc(cap);
	int ret;

	/* The buffer has room for 1025 entries: only the key limit stops it. */
	crash_key_blob_start(&w, b, cap);
	for (i = 0; i < CRASH_KEY_MAX_KEYS; i++) {
		fill_entry(&e, i, 1, 1);
		ret = add_entry(&w, &e);
		pass &= EXPECT(ret == 0, "add %u returned %s", i, errname(ret));
	}
	pos = w.pos;
	fill_entry(&e, i, 1, 1);
	ret = add_entry(&w, &e);
	pass &= EXPECT(ret == -ENOSPC, "add 1025 returned %s", errname(ret));
	pass &= EXPECT(w.count == CRASH_KEY_MAX_KEYS && w.pos == pos,
		       "refused add changed the writer");
	total = crash_key_blob_finish(&w);
	collect_init(&c, b, total, 0);
	ret = parse_collect(&c, NULL);
	pass &= EXPECT(ret == 0 && c.calls == CRASH_KEY_MAX_KEYS,
		       "parse returned %s after %u visits", errname(ret),
		       c.calls);
	ok(pass, "writer: the 1025th entry gets -ENOSPC even with room in the buffer");
	free(b);
}

#define ONE_SHORT	(-1)	/* slack: the next entry's size minus one */

struct cap_case {
	const char *name;
	unsigned int fits;	/* how many of the 3 fixture entries fit */
	long slack;		/* bytes of capacity beyond those */
};

static const struct cap_case cap_cases[] = {
	{ "exact fit for 3 entries",		3, 0 },
	{ "one spare byte after 3 entries",	3, 1 },
	{ "3rd entry one byte short",		2, ONE_SHORT },
	{ "2 entries and 100 spare bytes",	2, 100 },
	{ "2nd entry one byte short",		1, ONE_SHORT },
	{ "exact fit for 1 entry",		1, 0 },
	{ "1st entry one byte short",		0, ONE_SHORT },
	{ "room for no entry (empty blob)",	0, 0 },
};

static void test_writer_capacity(void)
{
	unsigned int t;
	size_t ignore_len;

	free(fixture(&ignore_len));
	for (t = 0; t < sizeof(cap_cases) / sizeof(cap_cases[0]); t++) {
		const struct cap_case *cc = &cap_cases[t];
		struct crash_key_blob_writer w;
		struct collect c;
		bool pass = true;
		size_t cap, pos, total;
		unsigned int i;
		u8 *b;
		int ret;

		cap = MIN_LEN;
		for (i = 0; i < cc->fits; i++)
			cap += entry_size(&fix[i]);
		cap += cc->slack == ONE_SHORT ? entry_size(&fix[cc->fits]) - 1 :
						(size_t)cc->slack;
		/* Exactly @cap bytes: ASan catches any write past the end. */
		b = xmalloc(cap);
		crash_key_blob_start(&w, b, cap);
		for (i = 0; i < FIX_N; i++) {
			pos = w.pos;
			ret = add_entry(&w, &fix[i]);
			pass &= EXPECT(ret == (i < cc->fits ? 0 : -ENOSPC),
				       "add %u returned %s", i, errname(ret));
			if (ret)
				pass &= EXPECT(w.pos == pos && w.count == cc->fits,
					       "refused add changed the writer");
		}
		total = crash_key_blob_finish(&w);
		pass &= EXPECT(total <= cap, "total %zu > cap %zu", total, cap);
		collect_init(&c, b, total, FIX_N);
		ret = parse_collect(&c, NULL);
		pass &= EXPECT(ret == 0, "parse returned %s", errname(ret));
		pass &= refs_match(&c, fix, cc->fits);
		ok(pass, "writer capacity: %s (cap %zu): %u added, rest -ENOSPC",
		   cc->name, cap, cc->fits);
		free(c.refs);
		free(b);
	}
}

/*
 * crash_key_blob_finish() with a buffer too small even for an empty blob
 * returns 0 and writes nothing. Checked with a larger buffer and a canary so
 * that the test itself stays in bounds.
 */
static void test_writer_finish_small_cap(void)
{
	u8 buf[128];
	struct crash_key_blob_writer w;
	const size_t cap = MIN_LEN - 1;
	bool untouched = true;
	size_t i, len;

	memset(buf, 0xee, sizeof(buf));
	crash_key_blob_start(&w, buf, cap);
	len = crash_key_blob_finish(&w);
	for (i = 0; i < sizeof(buf); i++)
		untouched &= buf[i] == 0xee;
	ok(len == 0 && untouched,
	   "writer: crash_key_blob_finish() with cap %zu < CRASH_KEY_BLOB_MIN_LEN returns 0, writes nothing",
	   cap);
}

/* -------------------------------------------------------- byte order */

/*
 * One entry, written out by hand: every header field little-endian, the
 * key_len 256 (00 01) and total_len 350 (5e 01 00 00) make a byte order
 * mistake visible. The digest was computed independently of this code
 * (Python hashlib over the 318 bytes before it).
 */
static const u8 expected_header[HDR_LEN + ENT_LEN] = {
	/* magic "CKEY" */	0x43, 0x4b, 0x45, 0x59,
	/* version 1 */		0x01, 0x00,
	/* header_len 24 */	0x18, 0x00,
	/* total_len 350 */	0x5e, 0x01, 0x00, 0x00,
	/* count 1 */		0x01, 0x00, 0x00, 0x00,
	/* flags */		0x00, 0x00, 0x00, 0x00,
	/* reserved */		0x00, 0x00, 0x00, 0x00,
	/* uuid */		0x6b, 0x8a, 0x2c, 0x1e, 0x9f, 0x3d, 0x4a, 0x5b,
				0x8c, 0x7d, 0x0e, 0x1f, 0x2a, 0x3b, 0x4c, 0x5d,
	/* key_len 256 */	0x00, 0x01,
	/* desc_len 14 */	0x0e, 0x00,
	/* reserved */		0x00, 0x00, 0x00, 0x00,
};

static const char expected_desc[] = "dm-crypt key 0";

static const u8 expected_digest[DIGEST_LEN] = {
	0x7b, 0x57, 0x73, 0x68, 0x1f, 0xcc, 0x18, 0x7a,
	0x4c, 0x7b, 0xea, 0x48, 0xdf, 0x3a, 0x96, 0x82,
	0x9f, 0x7e, 0x08, 0xe6, 0x42, 0x08, 0xb1, 0x4c,
	0x2b, 0x0a, 0x0d, 0x2a, 0xb9, 0x1d, 0xb5, 0xbe,
};

static void test_byte_order(void)
{
	const size_t desc_len = sizeof(expected_desc) - 1;
	const size_t total = HDR_LEN + ENT_LEN + desc_len + 256 + DIGEST_LEN;
	u8 key[256], *expected, *b;
	struct crash_key_blob_writer w;
	size_t i, len, first_diff = 0;
	bool pass = true;

	for (i = 0; i < sizeof(key); i++)
		key[i] = (u8)((i * 7) ^ 0xa5);
	expected = xmalloc(total);
	memcpy(expected, expected_header, sizeof(expected_header));
	memcpy(expected + sizeof(expected_header), expected_desc, desc_len);
	memcpy(expected + sizeof(expected_header) + desc_len, key, sizeof(key));
	memcpy(expected + total - DIGEST_LEN, expected_digest, DIGEST_LEN);

	b = xmalloc(crash_key_blob_max_len(1));
	crash_key_blob_start(&w, b, crash_key_blob_max_len(1));
	pass &= EXPECT(crash_key_blob_add(&w, expected_header + HDR_LEN,
					  expected_desc, desc_len, key,
					  sizeof(key)) == 0, "add failed");
	len = crash_key_blob_finish(&w);
	pass &= EXPECT(len == total, "total %zu, expected %zu", len, total);
	if (len == total && memcmp(b, expected, total)) {
		while (b[first_diff] == expected[first_diff])
			first_diff++;
		pass &= EXPECT(false, "first difference at byte %zu: %02x, expected %02x",
			       first_diff, b[first_diff], expected[first_diff]);
	}
	ok(pass, "byte order: writer output equals the hand-written little-endian 1-entry blob");

	pass = crash_key_blob_parse(expected, total, collect_visit,
				    &(struct collect){ .buf = expected,
						       .len = total }, NULL) == 0;
	ok(pass, "byte order: the hand-written blob parses");
	free(expected);
	free(b);
}

/* ------------------------------------------------------------ parser */

static void test_truncations(void)
{
	unsigned int bad = 0;
	size_t len, cut;
	bool pass = true;
	u8 *full = fixture(&len);

	for (cut = 0; cut < len; cut++) {
		/* A buffer of exactly @cut bytes, so overreads hit ASan. */
		u8 *b = xmalloc(cut);
		const char *why = NULL;
		struct collect c;
		int ret;

		memcpy(b, full, cut);
		collect_init(&c, b, cut, 0);
		ret = parse_collect(&c, &why);
		if (!EXPECT(ret == -EINVAL && why && c.calls == 0,
			    "len %zu: returned %s, why %s, %u visits", cut,
			    errname(ret), why ? why : "NULL", c.calls))
			bad++;
		free(b);
	}
	pass = !bad;
	ok(pass, "parser: every truncation (len 0..%zu) of a %zu-byte 3-entry blob gets -EINVAL without a visit",
	   len - 1, len);
	free(full);
}

static bool in_payload(size_t off)
{
	unsigned int i;

	for (i = 0; i < FIX_N; i++) {
		size_t e = fix_entry_off[i];

		if (off >= e + E_UUID && off < e + E_UUID + CRASH_KEY_UUID_LEN)
			return true;
		if (off >= e + ENT_LEN + fix[i].desc_len &&
		    off < e + entry_size(&fix[i]))
			return true;
	}
	return false;
}

static void test_bit_flips(void)
{
	unsigned int n_inval = 0, n_proto = 0, n_badmsg = 0, flips = 0;
	size_t len, off;
	bool pass = true;
	u8 *b = fixture(&len);
	unsigned int bit;

	for (off = 0; off < len; off++) {
		for (bit = 0; bit < 8; bit++) {
			const char *why = NULL;
			struct collect c;
			int ret;

			b[off] ^= 1u << bit;
			collect_init(&c, b, len, 0);
			ret = parse_collect(&c, &why);
			b[off] ^= 1u << bit;
			flips++;
			n_inval += ret == -EINVAL;
			n_proto += ret == -EPROTONOSUPPORT;
			n_badmsg += ret == -EBADMSG;
			pass &= EXPECT(is_parse_errno(ret) && why && c.calls == 0,
				       "byte %zu bit %u: returned %s, why %s, %u visits",
				       off, bit, errname(ret), why ? why : "NULL",
				       c.calls);
			/* UUID, key and digest bytes: only the digest can tell. */
			if (off >= len - DIGEST_LEN || in_payload(off))
				pass &= EXPECT(ret == -EBADMSG,
					       "byte %zu bit %u (payload/digest): %s",
					       off, bit, errname(ret));
		}
	}
	ok(pass, "parser: all %u single-bit flips of a 3-entry blob rejected without a visit",
	   flips);
	diag("  flips rejected with -EINVAL %u, -EPROTONOSUPPORT %u, -EBADMSG %u",
	     n_inval, n_proto, n_badmsg);
	free(b);
}

static void test_padding(void)
{
	static const size_t pads[] = { 1, 31, 4096 };
	size_t len, i;
	unsigned int t;
	u8 *blob = fixture(&len);

	for (t = 0; t < sizeof(pads) / sizeof(pads[0]); t++) {
		size_t padded = len + pads[t];
		u8 *b = xmalloc(padded);
		struct collect c;
		bool pass = true;
		int ret;

		memcpy(b, blob, len);
		for (i = len; i < padded; i++)
			b[i] = (u8)(0xa5 ^ i);
		collect_init(&c, b, padded, FIX_N);
		ret = parse_collect(&c, NULL);
		pass &= EXPECT(ret == 0, "parse returned %s", errname(ret));
		pass &= refs_match(&c, fix, FIX_N);
		ok(pass, "parser: %zu junk bytes after total_len (page padding) accepted",
		   pads[t]);
		free(c.refs);
		free(b);
	}
	free(blob);
}

static void test_null_buffer(void)
{
	const char *why = NULL;
	struct collect c;
	int ret;

	collect_init(&c, NULL, 0, 0);
	ret = crash_key_blob_parse(NULL, 0, collect_visit, &c, &why);
	ok(ret == -EINVAL && why && c.calls == 0,
	   "parser: NULL buffer of length 0 gets -EINVAL (%s)",
	   why ? why : "no reason");
}

/* Structural damage, each sealed with a correct digest. */
enum bad_kind {
	SET16,		/* put16(at, value) */
	SET32,		/* put32(at, value) */
	ADD16,		/* put16(at, get16(at) + delta) */
	TOTAL_DELTA,	/* total_len = real total + delta */
	SET8,		/* b[at] = value */
	DROP_LAST,	/* drop the last entry, fix total_len, keep count */
	FLIP,		/* b[at] ^= value, no reseal: digest mismatch */
};

#define HDR	-1	/* "entry" index for header fields */
#define DIG	-2	/* offset relative to the digest */

struct bad_case {
	const char *name;
	enum bad_kind kind;
	int entry;		/* HDR, DIG, or entry index */
	long at;		/* offset in header/entry/digest, <0 from end of desc */
	long value;
	int err;
};

static const struct bad_case bad_cases[] = {
	{ "magic off by one",		SET32, HDR, H_MAGIC, 0x59454b44, -EINVAL },
	{ "magic big-endian",		SET32, HDR, H_MAGIC, 0x434b4559, -EINVAL },
	{ "magic zero",			SET32, HDR, H_MAGIC, 0, -EINVAL },
	{ "version 0",			SET16, HDR, H_VERSION, 0, -EPROTONOSUPPORT },
	{ "version 2",			SET16, HDR, H_VERSION, 2, -EPROTONOSUPPORT },
	{ "version 1 big-endian (0x0100)", SET16, HDR, H_VERSION, 0x100, -EPROTONOSUPPORT },
	{ "version 0xffff",		SET16, HDR, H_VERSION, 0xffff, -EPROTONOSUPPORT },
	{ "header_len 0",		SET16, HDR, H_HEADER_LEN, 0, -EINVAL },
	{ "header_len 23",		SET16, HDR, H_HEADER_LEN, 23, -EINVAL },
	{ "header_len 25",		SET16, HDR, H_HEADER_LEN, 25, -EINVAL },
	{ "header_len 24 big-endian",	SET16, HDR, H_HEADER_LEN, 0x1800, -EINVAL },
	{ "flags bit 0",		SET32, HDR, H_FLAGS, 1, -EINVAL },
	{ "flags bit 31",		SET32, HDR, H_FLAGS, 0x80000000, -EINVAL },
	{ "header reserved bit 0",	SET32, HDR, H_RESERVED, 1, -EINVAL },
	{ "header reserved bit 24",	SET32, HDR, H_RESERVED, 0x01000000, -EINVAL },
	{ "count 1025 (> 1024)",	SET32, HDR, H_COUNT, 1025, -EINVAL },
	{ "count 0xffffffff",		SET32, HDR, H_COUNT, 0xffffffff, -EINVAL },
	{ "count 1024 (more than present)", SET32, HDR, H_COUNT, 1024, -EINVAL },
	{ "count 4 (one more than present)", SET32, HDR, H_COUNT, 4, -EINVAL },
	{ "count 2 (bytes left before the digest)", SET32, HDR, H_COUNT, 2, -EINVAL },
	{ "count 0 with 3 entries",	SET32, HDR, H_COUNT, 0, -EINVAL },
	{ "total_len > len by 1",	TOTAL_DELTA, HDR, 0, 1, -EINVAL },
	{ "total_len > len by 4096",	TOTAL_DELTA, HDR, 0, 4096, -EINVAL },
	{ "total_len 0xffffffff",	SET32, HDR, H_TOTAL_LEN, 0xffffffff, -EINVAL },
	{ "total_len one short",	TOTAL_DELTA, HDR, 0, -1, -EINVAL },
	{ "total_len == min with 3 entries", SET32, HDR, H_TOTAL_LEN, MIN_LEN, -EINVAL },
	{ "total_len < min (55)",	SET32, HDR, H_TOTAL_LEN, MIN_LEN - 1, -EINVAL },
	{ "total_len < min (24)",	SET32, HDR, H_TOTAL_LEN, HDR_LEN, -EINVAL },
	{ "total_len 0",		SET32, HDR, H_TOTAL_LEN, 0, -EINVAL },
	{ "count 3 but the last entry dropped", DROP_LAST, HDR, 0, 0, -EINVAL },
	{ "entry 1 key_len 0",		SET16, 1, E_KEY_LEN, 0, -EINVAL },
	{ "entry 1 key_len 257",	SET16, 1, E_KEY_LEN, 257, -EINVAL },
	{ "entry 1 key_len 0xffff",	SET16, 1, E_KEY_LEN, 0xffff, -EINVAL },
	{ "entry 1 desc_len 0",		SET16, 1, E_DESC_LEN, 0, -EINVAL },
	{ "entry 1 desc_len 256",	SET16, 1, E_DESC_LEN, 256, -EINVAL },
	{ "entry 0 key_len one short",	ADD16, 0, E_KEY_LEN, -1, -EINVAL },
	{ "entry 0 desc_len one long",	ADD16, 0, E_DESC_LEN, 1, -EINVAL },
	{ "entry 2 key_len one past the digest", ADD16, 2, E_KEY_LEN, 1, -EINVAL },
	{ "entry 2 key_len 256, past the digest", SET16, 2, E_KEY_LEN, 256, -EINVAL },
	{ "entry 0 reserved bit 0",	SET32, 0, E_RESERVED, 1, -EINVAL },
	{ "entry 2 reserved bit 31",	SET32, 2, E_RESERVED, 0x80000000, -EINVAL },
	{ "entry 0 NUL as first description byte", SET8, 0, ENT_LEN, 0, -EINVAL },
	{ "entry 1 NUL inside the description", SET8, 1, ENT_LEN + 20, 0, -EINVAL },
	{ "entry 2 NUL as last description byte", SET8, 2, ENT_LEN + 254, 0, -EINVAL },
	{ "digest first byte flipped",	FLIP, DIG, 0, 0x01, -EBADMSG },
	{ "digest last byte flipped",	FLIP, DIG, 31, 0x80, -EBADMSG },
	{ "key byte flipped",		FLIP, 1, ENT_LEN + 40 + 3, 0x10, -EBADMSG },
	{ "uuid byte flipped",		FLIP, 2, E_UUID + 15, 0x01, -EBADMSG },
	{ "description byte changed",	FLIP, 0, ENT_LEN + 1, 0x20, -EBADMSG },
};

/*
 * Apply @bc to a copy of the fixture and seal it: the digest goes where the
 * declared total_len puts it if that lies inside the buffer, else where it
 * was. Either way a parser that skipped the structural check would find a
 * matching digest somewhere plausible.
 */
static u8 *make_bad(const struct bad_case *bc, const u8 *blob, size_t len,
		    size_t *out_len)
{
	u8 *b = xmalloc(len);
	size_t base, declared;

	memcpy(b, blob, len);
	*out_len = len;
	base = bc->entry == HDR ? 0 :
	       bc->entry == DIG ? len - DIGEST_LEN : fix_entry_off[bc->entry];
	switch (bc->kind) {
	case SET8:
		b[base + bc->at] = (u8)bc->value;
		break;
	case SET16:
		put16(b + base + bc->at, (u32)bc->value);
		break;
	case SET32:
		put32(b + base + bc->at, (u32)bc->value);
		break;
	case ADD16:
		put16(b + base + bc->at, get16(b + base + bc->at) + (u32)bc->value);
		break;
	case TOTAL_DELTA:
		put32(b + H_TOTAL_LEN, (u32)(len + bc->value));
		break;
	case DROP_LAST:
		*out_len = fix_entry_off[FIX_N - 1] + DIGEST_LEN;
		put32(b + H_TOTAL_LEN, (u32)*out_len);
		break;
	case FLIP:
		b[base + bc->at] ^= (u8)bc->value;
		return b;
	}
	declared = get32(b + H_TOTAL_LEN);
	if (declared >= MIN_LEN && declared <= *out_len)
		reseal_at(b, declared - DIGEST_LEN);
	else
		reseal_at(b, *out_len - DIGEST_LEN);
	return b;
}

static void test_structural(void)
{
	struct collect c;
	const char *why = NULL;
	size_t len, blen;
	unsigned int t;
	u8 *blob = fixture(&len), *b;
	int ret;

	/* Control: resealing an undamaged blob must keep it valid. */
	b = xmalloc(len);
	memcpy(b, blob, len);
	reseal_at(b, len - DIGEST_LEN);
	collect_init(&c, b, len, 0);
	ret = parse_collect(&c, &why);
	ok(ret == 0 && c.calls == FIX_N && !memcmp(b, blob, len),
	   "parser: control: an undamaged blob resealed by the test still parses");
	free(b);

	for (t = 0; t < sizeof(bad_cases) / sizeof(bad_cases[0]); t++) {
		const struct bad_case *bc = &bad_cases[t];
		bool pass = true;
		int ret2;

		b = make_bad(bc, blob, len, &blen);
		why = NULL;
		collect_init(&c, b, blen, 0);
		ret = parse_collect(&c, &why);
		pass &= EXPECT(ret == bc->err, "returned %s, expected %s (%s)",
			       errname(ret), errname(bc->err),
			       why ? why : "no reason");
		pass &= EXPECT(why && *why, "no reason given");
		pass &= EXPECT(c.calls == 0, "visit called %u times", c.calls);
		/* Same answer without a why pointer. */
		ret2 = parse_collect(&c, NULL);
		pass &= EXPECT(ret2 == ret, "without why: %s", errname(ret2));
		ok(pass, "parser: %s -> %s (%s)", bc->name, errname(bc->err),
		   why ? why : "no reason");
		free(b);
	}
	free(blob);
}

/*
 * The test's own encoder, independent of the writer: @n entries, all of
 * them 1-byte description and key except the last, which gets @desc_len and
 * @key_len (any value, limits or not), with exactly that many bytes behind
 * it. Header, lengths and digest are all consistent, so only a limit check
 * can reject the result.
 */
static u8 *encode_raw(unsigned int n, u32 desc_len, u32 key_len, size_t *len)
{
	size_t total = MIN_LEN, pos = HDR_LEN, k;
	unsigned int i;
	u8 *b;

	for (i = 0; i < n; i++)
		total += ENT_LEN + (i + 1 < n ? 2 : (size_t)desc_len + key_len);
	b = xmalloc(total);
	memset(b, 0, HDR_LEN);
	put32(b + H_MAGIC, CRASH_KEY_BLOB_MAGIC);
	put16(b + H_VERSION, 1);
	put16(b + H_HEADER_LEN, HDR_LEN);
	put32(b + H_TOTAL_LEN, (u32)total);
	put32(b + H_COUNT, n);
	for (i = 0; i < n; i++) {
		u32 dl = i + 1 < n ? 1 : desc_len, kl = i + 1 < n ? 1 : key_len;

		for (k = 0; k < CRASH_KEY_UUID_LEN; k++)
			b[pos + E_UUID + k] = (u8)(i >> (k % 2 * 8));
		put16(b + pos + E_KEY_LEN, kl);
		put16(b + pos + E_DESC_LEN, dl);
		put32(b + pos + E_RESERVED, 0);
		pos += ENT_LEN;
		for (k = 0; k < dl; k++)
			b[pos++] = (u8)('a' + k % 26);
		for (k = 0; k < kl; k++)
			b[pos++] = (u8)(k * 0x45 + i);
	}
	reseal_at(b, pos);
	*len = total;
	return b;
}

struct limit_case {
	const char *name;
	unsigned int n;
	u32 desc_len, key_len;	/* of the last entry */
	int err;
};

static const struct limit_case limit_cases[] = {
	{ "control: desc_len 255, key_len 256", 1, 255, 256, 0 },
	{ "control: 1024 entries", 1024, 1, 1, 0 },
	{ "key_len 0", 2, 10, 0, -EINVAL },
	{ "key_len 257", 2, 10, 257, -EINVAL },
	{ "key_len 65535", 1, 10, 65535, -EINVAL },
	{ "desc_len 0", 2, 0, 10, -EINVAL },
	{ "desc_len 256", 2, 256, 10, -EINVAL },
	{ "desc_len 65535", 1, 65535, 10, -EINVAL },
	{ "1025 entries (count 1025)", 1025, 1, 1, -EINVAL },
};

static void test_consistent_limits(void)
{
	unsigned int t;

	for (t = 0; t < sizeof(limit_cases) / sizeof(limit_cases[0]); t++) {
		const struct limit_case *lc = &limit_cases[t];
		const char *why = NULL;
		struct collect c;
		size_t len;
		u8 *b = encode_raw(lc->n, lc->desc_len, lc->key_len, &len);
		int ret;

		collect_init(&c, b, len, 0);
		ret = parse_collect(&c, &why);
		ok(ret == lc->err && (ret ? why && c.calls == 0 : c.calls == lc->n),
		   "parser, consistent blob: %s -> %s (got %s, %s, %u visits)",
		   lc->name, errname(lc->err), errname(ret),
		   why ? why : "no reason", c.calls);
		free(b);
	}
}

/*
 * Off-by-one guards. Each blob is built so that a parser whose bounds check
 * is one byte too generous goes on to scan a 200-byte description that
 * runs off the end of the buffer (no NUL in the bytes that are there, so
 * memchr() does not stop early); the buffer is exactly sized, so ASan
 * reports that read. A correct parser returns -EINVAL without making it.
 */
static u8 *bounds_blob(int which, size_t *len)
{
	size_t e2, end;
	u8 *b, *fixb;
	size_t flen;

	switch (which) {
	case 0:
		/* total_len 55: end would fall before the first entry. */
		*len = MIN_LEN;
		b = xmalloc(*len);
		memset(b, 0, *len);
		put32(b + H_MAGIC, CRASH_KEY_BLOB_MAGIC);
		put16(b + H_VERSION, 1);
		put16(b + H_HEADER_LEN, HDR_LEN);
		put32(b + H_TOTAL_LEN, MIN_LEN - 1);
		put32(b + H_COUNT, 1);
		put16(b + HDR_LEN + E_KEY_LEN, 1);
		put16(b + HDR_LEN + E_DESC_LEN, 200);
		memset(b + HDR_LEN + ENT_LEN, 'x', *len - HDR_LEN - ENT_LEN);
		return b;
	case 1:
		/* 23 bytes before the digest claim to be a 4th entry header. */
		fixb = fixture(&flen);
		*len = flen + 23;
		b = xmalloc(*len);
		end = flen - DIGEST_LEN;
		memcpy(b, fixb, end);
		memset(b + end, 0, 23 + 1);
		memset(b + end + 24, 'x', DIGEST_LEN - 1);
		put16(b + end + E_KEY_LEN, 1);
		put16(b + end + E_DESC_LEN, 200);
		put32(b + H_TOTAL_LEN, (u32)*len);
		put32(b + H_COUNT, FIX_N + 1);
		free(fixb);
		return b;
	default:
		/*
		 * The last entry's key runs one byte into the digest, and the
		 * digest bytes after it look like a 4th entry header.
		 */
		fixb = fixture(&flen);
		*len = flen;
		b = fixb;
		e2 = fix_entry_off[FIX_N - 1];
		end = flen - DIGEST_LEN;
		put16(b + e2 + E_KEY_LEN, get16(b + e2 + E_KEY_LEN) + 1);
		put32(b + H_COUNT, FIX_N + 1);
		memset(b + end + 1, 0, ENT_LEN);
		memset(b + end + 1 + ENT_LEN, 'x', DIGEST_LEN - 1 - ENT_LEN);
		put16(b + end + 1 + E_KEY_LEN, 1);
		put16(b + end + 1 + E_DESC_LEN, 200);
		return b;
	}
}

static void test_bounds_guards(void)
{
	static const char *const names[] = {
		"total_len one below the minimum",
		"an entry header one byte short before the digest",
		"an entry running one byte into the digest",
	};
	unsigned int t;

	for (t = 0; t < 3; t++) {
		const char *why = NULL;
		struct collect c;
		size_t len;
		u8 *b = bounds_blob((int)t, &len);
		int ret;

		collect_init(&c, b, len, 0);
		ret = parse_collect(&c, &why);
		ok(ret == -EINVAL && why && c.calls == 0,
		   "parser, bounds guard: %s -> -EINVAL (got %s, %s)", names[t],
		   errname(ret), why ? why : "no reason");
		free(b);
	}
}

struct stop_case {
	unsigned int stop_at;
	int ret;
};

static const struct stop_case stop_cases[] = {
	{ 1, 1 },
	{ 2, 7 },
	{ 3, -ECANCELED },
	{ 2, -EINVAL },
};

static void test_visit_stop(void)
{
	size_t len;
	unsigned int t;
	u8 *b = fixture(&len);

	for (t = 0; t < sizeof(stop_cases) / sizeof(stop_cases[0]); t++) {
		const struct stop_case *sc = &stop_cases[t];
		struct collect c;
		int ret;

		collect_init(&c, b, len, FIX_N);
		c.stop_at = sc->stop_at;
		c.stop_ret = sc->ret;
		ret = parse_collect(&c, NULL);
		ok(ret == sc->ret && c.calls == sc->stop_at &&
		   refs_match(&c, fix, sc->stop_at),
		   "parser: visit returning %d on call %u stops there and is returned",
		   sc->ret, sc->stop_at);
		free(c.refs);
	}
	free(b);
}

/* ----------------------------------------------------- test vectors */

/*
 * The reference vector: the same entries on every architecture, so the
 * *.bin files written on different hosts must be byte-identical.
 */
struct vector_spec {
	const char *uuid;
	const char *desc;	/* NULL: gen_len generated characters */
	size_t gen_len;
	size_t key_len;
};

static const struct vector_spec vector_specs[] = {
	{ "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0",
	  "luks-0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0", 0, 64 },
	{ "00000000-0000-0000-0000-000000000001", "x", 0, 1 },
	{ "ffffffff-ffff-ffff-ffff-ffffffffffff", NULL, 255, 256 },
	{ "c0ffee00-1234-4abc-8def-0123456789ab",
	  "cryptsetup: volume with spaces", 0, 32 },
	{ "5a5a5a5a-a5a5-4a5a-a5a5-5a5a5a5a5a5a", NULL, 128, 255 },
};

/* Parse @n bytes of hex from @s (dashes skipped); true if @s is all used. */
static bool parse_hex(const char *s, size_t slen, u8 *out, size_t n)
{
	size_t i = 0, got = 0;

	while (i < slen) {
		int hi, lo;

		if (s[i] == '-') {
			i++;
			continue;
		}
		if (got == n || i + 1 >= slen)
			return false;
		hi = hex_value(s[i]);
		lo = hex_value(s[i + 1]);
		if (hi < 0 || lo < 0)
			return false;
		out[got++] = (u8)(hi << 4 | lo);
		i += 2;
	}
	return got == n;
}

static void print_uuid(FILE *f, const u8 *u)
{
	unsigned int i;

	for (i = 0; i < CRASH_KEY_UUID_LEN; i++)
		fprintf(f, "%s%02x", i == 4 || i == 6 || i == 8 || i == 10 ?
			"-" : "", u[i]);
}

static void print_hex(FILE *f, const u8 *p, size_t n)
{
	while (n--)
		fprintf(f, "%02x", *p++);
}

static void vector_entry(struct entry *e, unsigned int i)
{
	const struct vector_spec *vs = &vector_specs[i];
	size_t k;

	memset(e, 0, sizeof(*e));
	if (!parse_hex(vs->uuid, strlen(vs->uuid), e->uuid, CRASH_KEY_UUID_LEN)) {
		fprintf(stderr, "bad uuid in vector spec %u\n", i);
		exit(1);
	}
	if (vs->desc) {
		e->desc_len = strlen(vs->desc);
		memcpy(e->desc, vs->desc, e->desc_len);
	} else {
		e->desc_len = vs->gen_len;
		for (k = 0; k < e->desc_len; k++)
			e->desc[k] = (char)('!' + (k * 13 + 5) % 94);
	}
	e->key_len = vs->key_len;
	for (k = 0; k < e->key_len; k++)
		e->key[k] = (u8)(0x3c ^ (i * 0x45) ^ (k * 0x1d) ^ (k >> 5));
}

static char *with_suffix(const char *path, const char *from, const char *to)
{
	size_t plen = strlen(path), flen = strlen(from);
	char *out;

	if (plen < flen || strcmp(path + plen - flen, from))
		return NULL;
	out = xmalloc(plen - flen + strlen(to) + 1);
	memcpy(out, path, plen - flen);
	strcpy(out + plen - flen, to);
	return out;
}

static int write_vector(const char *bin_path)
{
	const unsigned int n = sizeof(vector_specs) / sizeof(vector_specs[0]);
	char *expect_path = with_suffix(bin_path, ".bin", ".expect");
	struct entry ents[sizeof(vector_specs) / sizeof(vector_specs[0])];
	struct utsname uts;
	size_t len, i;
	u8 digest[DIGEST_LEN];
	FILE *f;
	u8 *b;

	if (!expect_path) {
		fprintf(stderr, "blob_test: %s: name must end in .bin\n", bin_path);
		return 2;
	}
	for (i = 0; i < n; i++)
		vector_entry(&ents[i], i);
	b = build(ents, n, &len);
	if (!b) {
		fprintf(stderr, "blob_test: the writer refused a vector entry\n");
		return 1;
	}
	f = fopen(bin_path, "wb");
	if (!f || fwrite(b, 1, len, f) != len || fclose(f)) {
		perror(bin_path);
		return 1;
	}
	if (uname(&uts))
		strcpy(uts.machine, "unknown");
	f = fopen(expect_path, "w");
	if (!f) {
		perror(expect_path);
		return 1;
	}
	fprintf(f, "# crash key blob test vector: %u entries, total_len %zu\n",
		n, len);
	fprintf(f, "# written by tests/host/blob_test --write-vector on %s (%s-endian)\n",
		uts.machine,
		__BYTE_ORDER__ == __ORDER_BIG_ENDIAN__ ? "big" : "little");
	fprintf(f, "# one line per entry: uuid description sha256(key)\n");
	for (i = 0; i < n; i++) {
		sha256(ents[i].key, ents[i].key_len, digest);
		print_uuid(f, ents[i].uuid);
		fprintf(f, " %.*s ", (int)ents[i].desc_len, ents[i].desc);
		print_hex(f, digest, DIGEST_LEN);
		fputc('\n', f);
	}
	if (fclose(f)) {
		perror(expect_path);
		return 1;
	}
	printf("wrote %s (%zu bytes) and %s\n", bin_path, len, expect_path);
	free(b);
	free(expect_path);
	return 0;
}

static u8 *read_file(const char *path, size_t *len)
{
	size_t cap = 4096, n = 0, got;
	u8 *buf = xmalloc(cap);
	FILE *f = fopen(path, "rb");

	if (!f) {
		free(buf);
		return NULL;
	}
	while ((got = fread(buf + n, 1, cap - n, f)) > 0) {
		n += got;
		if (n == cap) {
			u8 *bigger = realloc(buf, cap *= 2);

			if (!bigger) {
				fputs("Bail out! out of memory\n", stdout);
				exit(1);
			}
			buf = bigger;
		}
	}
	fclose(f);
	*len = n;
	return buf;
}

/* Check one parsed entry against one .expect line; false on mismatch. */
static bool expect_line_matches(char *line, const struct crash_key_ref *r,
				unsigned int idx)
{
	u8 uuid[CRASH_KEY_UUID_LEN], want[DIGEST_LEN], got[DIGEST_LEN];
	char *first = strchr(line, ' '), *last = strrchr(line, ' ');
	size_t desc_len;
	bool pass = true;

	if (!EXPECT(first && last && last > first,
		    "entry %u: malformed .expect line '%s'", idx, line))
		return false;
	desc_len = last - first - 1;
	pass &= EXPECT(parse_hex(line, first - line, uuid, sizeof(uuid)),
		       "entry %u: bad uuid in .expect", idx);
	pass &= EXPECT(parse_hex(last + 1, strlen(last + 1), want, sizeof(want)),
		       "entry %u: bad sha256 in .expect", idx);
	if (!pass)
		return false;
	sha256(r->key, r->key_len, got);
	pass &= EXPECT(!memcmp(uuid, r->uuid, sizeof(uuid)), "entry %u: uuid", idx);
	pass &= EXPECT(desc_len == r->desc_len &&
		       !memcmp(first + 1, r->desc, desc_len),
		       "entry %u: description '%.*s', expected '%.*s'", idx,
		       (int)r->desc_len, r->desc, (int)desc_len, first + 1);
	pass &= EXPECT(!memcmp(want, got, sizeof(got)),
		       "entry %u: key sha256 differs (key_len %u)", idx,
		       r->key_len);
	return pass;
}

/*
 * Decode @bin, compare with @expect, and re-encode the decoded entries with
 * this host's writer: the bytes must be identical to the file's blob.
 */
static bool check_vector(const char *bin, const char *expect)
{
	size_t len = 0, elen = 0, total, i;
	u8 *b = read_file(bin, &len), *again = NULL, *e = NULL;
	struct crash_key_blob_writer w;
	const char *why = NULL;
	unsigned int lines = 0;
	struct collect c = { 0 };
	bool pass = true;
	char *line, *next;
	int ret;

	if (!EXPECT(b, "cannot read %s", bin))
		return false;
	e = read_file(expect, &elen);
	if (!EXPECT(e, "cannot read %s", expect)) {
		pass = false;
		goto out;
	}
	e[elen] = '\0';	/* read_file() always leaves a spare byte */

	collect_init(&c, b, len, CRASH_KEY_MAX_KEYS);
	ret = parse_collect(&c, &why);
	if (!EXPECT(ret == 0, "parse returned %s (%s)", errname(ret),
		    why ? why : "")) {
		pass = false;
		goto out;
	}

	for (line = (char *)e; line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		if (!*line || *line == '#')
			continue;
		if (!EXPECT(lines < c.calls, "more .expect lines than entries (%u)",
			    c.calls)) {
			pass = false;
			break;
		}
		pass &= expect_line_matches(line, &c.refs[lines], lines);
		lines++;
	}
	pass &= EXPECT(lines == c.calls, "%u .expect lines, %u entries", lines,
		       c.calls);

	total = get32(b + H_TOTAL_LEN);
	again = xmalloc(total);
	crash_key_blob_start(&w, again, total);
	for (i = 0; i < c.calls; i++)
		pass &= EXPECT(crash_key_blob_add(&w, c.refs[i].uuid,
						  c.refs[i].desc,
						  c.refs[i].desc_len,
						  c.refs[i].key,
						  c.refs[i].key_len) == 0,
			       "re-encoding entry %zu failed", i);
	pass &= EXPECT(crash_key_blob_finish(&w) == total &&
		       !memcmp(again, b, total),
		       "re-encoding on this host gives different bytes");
out:
	free(again);
	free(c.refs);
	free(e);
	free(b);
	return pass;
}

static int has_suffix(const struct dirent *d, const char *suffix)
{
	size_t n = strlen(d->d_name), s = strlen(suffix);

	return n > s && !strcmp(d->d_name + n - s, suffix);
}

static int is_bin(const struct dirent *d)
{
	return has_suffix(d, ".bin");
}

static int is_expect(const struct dirent *d)
{
	return has_suffix(d, ".expect");
}

static char *join(const char *dir, const char *name)
{
	char *p = xmalloc(strlen(dir) + strlen(name) + 2);

	sprintf(p, "%s/%s", dir, name);
	return p;
}

static void test_vectors(const char *dir)
{
	struct dirent **bins = NULL, **expects = NULL;
	int nbin, nexp, i;

	if (!dir) {
		printf("ok %u - test vectors # SKIP no --vectors DIR given\n",
		       ++tap_count);
		return;
	}
	nbin = scandir(dir, &bins, is_bin, alphasort);
	nexp = scandir(dir, &expects, is_expect, alphasort);
	/* Not the directory's path in the name: the matrix matches names with its list. */
	ok(nbin > 0, "test vectors: the --vectors directory holds at least one *.bin");
	if (nbin <= 0)
		printf("# no *.bin in %s\n", dir);
	nbin = nbin < 0 ? 0 : nbin;
	nexp = nexp < 0 ? 0 : nexp;
	for (i = 0; i < nbin; i++) {
		char *bin = join(dir, bins[i]->d_name);
		char *expect = with_suffix(bin, ".bin", ".expect");
		FILE *f = fopen(expect, "r");

		if (f) {
			fclose(f);
			ok(check_vector(bin, expect),
			   "test vector %s decodes to its .expect and re-encodes byte-identically",
			   bins[i]->d_name);
		} else {
			ok(false, "test vector %s has a matching .expect",
			   bins[i]->d_name);
		}
		free(expect);
		free(bin);
		free(bins[i]);
	}
	for (i = 0; i < nexp; i++) {
		char *path = join(dir, expects[i]->d_name);
		char *bin = with_suffix(path, ".expect", ".bin");
		FILE *f = fopen(bin, "rb");

		if (f)
			fclose(f);
		else
			ok(false, "test vector %s has a matching .bin",
			   expects[i]->d_name);
		free(bin);
		free(path);
		free(expects[i]);
	}
	free(bins);
	free(expects);
}

/* -------------------------------------------------------------- main */

int main(int argc, char **argv)
{
	const char *vectors = NULL;
	int i;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--write-vector") && i + 1 < argc)
			return write_vector(argv[i + 1]);
		if (!strcmp(argv[i], "--vectors") && i + 1 < argc) {
			vectors = argv[++i];
			continue;
		}
		fprintf(stderr,
			"usage: %s [--vectors DIR] | --write-vector FILE.bin\n",
			argv[0]);
		return 2;
	}

	test_layout();
	test_documented_sizes();
	test_round_trips();
	test_max_blob();
	test_writer_limits();
	test_writer_key_limit();
	test_writer_capacity();
	test_writer_finish_small_cap();
	test_byte_order();
	test_null_buffer();
	test_truncations();
	test_bit_flips();
	test_padding();
	test_structural();
	test_consistent_limits();
	test_bounds_guards();
	test_visit_stop();
	test_vectors(vectors);

	printf("1..%u\n", tap_count);
	if (tap_failures)
		diag("%u of %u tests failed", tap_failures, tap_count);
	return tap_failures ? 1 : 0;
}

// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer-style target for kernel/crash_key_blob.c (modes in blob_fuzz.h).
 *
 * The parser's answer is compared with a reference model written here from
 * the format description alone: the same verdict, the same entries, the
 * visitor's pointers inside the blob, no visit before an error. The writer
 * is driven by a recipe and checked against a model of its capacity and
 * limit rules; whatever it writes must parse back to exactly what was added.
 */
#include <linux/crash_key_blob.h>
#include <linux/errno.h>
#include <crypto/sha2.h>

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "blob_fuzz.h"

#define HDR_LEN		24u
#define ENT_LEN		24u
#define DIGEST_LEN	32u
#define MIN_LEN		(HDR_LEN + DIGEST_LEN)
#define MAX_KEYS	1024u
#define MAGIC		0x59454b43u

/* Far from any errno, so a stop value cannot pass for a parser error. */
#define STOP_BASE	0x40000000

struct blob_fuzz_stats blob_fuzz_stats;
void (*blob_fuzz_failure_hook)(const char *msg);

static void fail(int line, const char *fmt, ...)
	__attribute__((noreturn, format(printf, 2, 3)));

static void fail(int line, const char *fmt, ...)
{
	char msg[512];
	int n;
	va_list ap;

	n = snprintf(msg, sizeof(msg), "blob_fuzz.c:%d: ", line);
	va_start(ap, fmt);
	vsnprintf(msg + n, sizeof(msg) - n, fmt, ap);
	va_end(ap);
	fprintf(stderr, "blob_fuzz: property violated: %s\n", msg);
	if (blob_fuzz_failure_hook)
		blob_fuzz_failure_hook(msg);
	abort();
}

#define CHECK(cond, ...) \
	do { if (!(cond)) fail(__LINE__, __VA_ARGS__); } while (0)

static u32 rd16(const u8 *p)
{
	return p[0] | (u32)p[1] << 8;
}

static u32 rd32(const u8 *p)
{
	return rd16(p) | rd16(p + 2) << 16;
}

static void *xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (!p)
		abort();
	return p;
}

/* ------------------------------------------------------ reference model */

struct model_entry {
	size_t uuid, desc, key;		/* offsets into the blob */
	unsigned int desc_len, key_len;
};

struct model {
	int verdict;		/* 0, -EINVAL, -EPROTONOSUPPORT or -EBADMSG */
	bool total_ok;		/* MIN_LEN <= total_len <= len */
	bool digest_bad;	/* if total_ok: the digest does not match */
	unsigned int count;	/* entries, if the verdict is 0 */
	struct model_entry ent[MAX_KEYS];
};

static struct model model;

/*
 * The verdict a correct parser must reach. A blob with a bad magic is not a
 * blob; one with a good magic and another version is of a format this code
 * cannot judge; anything else is judged on its structure and its digest.
 */
static void model_parse(const u8 *b, size_t len, struct model *m)
{
	size_t total, end, pos;
	u8 digest[DIGEST_LEN];
	unsigned int i, count;

	m->verdict = -EINVAL;
	m->total_ok = false;
	m->digest_bad = false;
	m->count = 0;
	if (len < MIN_LEN || rd32(b) != MAGIC)
		return;
	if (rd16(b + 4) != 1) {
		m->verdict = -EPROTONOSUPPORT;
		return;
	}
	total = rd32(b + 8);
	if (total >= MIN_LEN && total <= len) {
		m->total_ok = true;
		sha256(b, total - DIGEST_LEN, digest);
		m->digest_bad = memcmp(digest, b + total - DIGEST_LEN,
				       DIGEST_LEN) != 0;
	}
	count = rd32(b + 12);
	if (!m->total_ok || rd16(b + 6) != HDR_LEN || rd32(b + 16) ||
	    rd32(b + 20) || count > MAX_KEYS)
		return;

	end = total - DIGEST_LEN;
	pos = HDR_LEN;
	for (i = 0; i < count; i++) {
		struct model_entry *e = &m->ent[i];
		size_t k;

		if (pos + ENT_LEN > end)
			return;
		e->key_len = rd16(b + pos + 16);
		e->desc_len = rd16(b + pos + 18);
		if (rd32(b + pos + 20) || e->key_len < 1 || e->key_len > 256 ||
		    e->desc_len < 1 || e->desc_len > 255)
			return;
		if (pos + ENT_LEN + e->desc_len + e->key_len > end)
			return;
		e->uuid = pos;
		e->desc = pos + ENT_LEN;
		e->key = e->desc + e->desc_len;
		for (k = 0; k < e->desc_len; k++)
			if (!b[e->desc + k])
				return;
		pos = e->key + e->key_len;
	}
	if (pos != end)
		return;
	m->count = count;
	m->verdict = m->digest_bad ? -EBADMSG : 0;
}

/* ------------------------------------------------------------- visitor */

struct visit_state {
	const u8 *buf;
	size_t len;
	unsigned int calls;
	unsigned int stop_at;
	struct crash_key_ref refs[MAX_KEYS];
};

static struct visit_state vs;

static int visit(const struct crash_key_ref *ref, void *arg)
{
	struct visit_state *v = arg;
	const u8 *end = v->buf + v->len;
	unsigned int i;

	CHECK(v->calls < MAX_KEYS, "more than %u visits", MAX_KEYS);
	CHECK(ref->uuid >= v->buf && ref->uuid + 16 <= end &&
	      (const u8 *)ref->desc >= v->buf &&
	      (const u8 *)ref->desc + ref->desc_len <= end &&
	      ref->key >= v->buf && ref->key + ref->key_len <= end,
	      "visit %u: ref outside the buffer", v->calls);
	CHECK(ref->desc_len >= 1 && ref->desc_len <= 255 &&
	      ref->key_len >= 1 && ref->key_len <= 256,
	      "visit %u: lengths %u/%u out of range", v->calls,
	      ref->desc_len, ref->key_len);
	for (i = 0; i < ref->desc_len; i++)
		CHECK(ref->desc[i], "visit %u: NUL in the description", v->calls);
	v->refs[v->calls++] = *ref;
	if (v->stop_at && v->calls == v->stop_at)
		return STOP_BASE + (int)v->stop_at;
	return 0;
}

/* Parse @b and hold the answer against the reference model. */
static void check_parse(const u8 *b, size_t len, unsigned int stop_at,
			bool want_why, struct blob_fuzz_counts *cnt)
{
	const char *why = NULL;
	unsigned int i, expect_visits;
	int ret;

	model_parse(b, len, &model);
	vs.buf = b;
	vs.len = len;
	vs.calls = 0;
	vs.stop_at = stop_at;
	ret = crash_key_blob_parse(b, len, visit, &vs, want_why ? &why : NULL);

	cnt->visits += vs.calls;
	if (ret < 0) {
		CHECK(vs.calls == 0, "visit called %u times before error %d",
		      vs.calls, ret);
		CHECK(!want_why || (why && *why), "error %d without a reason",
		      ret);
	}
	switch (model.verdict) {
	case 0:
		expect_visits = model.count;
		if (stop_at && stop_at <= model.count) {
			CHECK(ret == STOP_BASE + (int)stop_at,
			      "visitor stop %u: parse returned %d", stop_at, ret);
			expect_visits = stop_at;
			cnt->stopped++;
		} else {
			CHECK(ret == 0, "valid blob rejected with %d (%s)", ret,
			      why ? why : "");
			cnt->accepted++;
		}
		CHECK(vs.calls == expect_visits, "%u visits, expected %u",
		      vs.calls, expect_visits);
		for (i = 0; i < vs.calls; i++) {
			const struct crash_key_ref *r = &vs.refs[i];
			const struct model_entry *e = &model.ent[i];

			CHECK(r->uuid == b + e->uuid &&
			      (const u8 *)r->desc == b + e->desc &&
			      r->desc_len == e->desc_len &&
			      r->key == b + e->key && r->key_len == e->key_len,
			      "entry %u differs from the model", i);
		}
		return;
	case -EPROTONOSUPPORT:
		CHECK(ret == -EPROTONOSUPPORT, "unknown version: returned %d",
		      ret);
		cnt->eproto++;
		return;
	case -EBADMSG:
		CHECK(ret == -EBADMSG, "digest mismatch: returned %d (%s)", ret,
		      why ? why : "");
		cnt->ebadmsg++;
		return;
	default:
		/* Malformed; a parser may look at the digest first. */
		CHECK(ret == -EINVAL || (ret == -EBADMSG && model.total_ok &&
					 model.digest_bad),
		      "malformed blob: returned %d (%s)", ret, why ? why : "");
		if (ret == -EINVAL)
			cnt->einval++;
		else
			cnt->ebadmsg++;
	}
}

/* -------------------------------------------------------------- writer */

struct recipe {
	const u8 *p;
	size_t n;
};

static unsigned int take(struct recipe *r)
{
	if (!r->n)
		return 0;
	r->n--;
	return *r->p++;
}

/* A length around the limits: 0, 1, max, max + 1, or anything in 1..max. */
static size_t pick_len(struct recipe *r, size_t max)
{
	unsigned int sel = take(r);

	switch (sel & 7) {
	case 0:
		return 0;
	case 1:
		return 1;
	case 2:
		return max;
	case 3:
		return max + 1;
	default:
		return 1 + ((sel >> 3) | take(r) << 5) % max;
	}
}

struct w_entry {
	u8 uuid[16];
	char desc[257];
	size_t desc_len;
	u8 key[258];
	size_t key_len;
};

static struct w_entry added[MAX_KEYS];

static void make_entry(struct recipe *r, struct w_entry *e, bool minimal,
		       unsigned int idx)
{
	unsigned int i, seed;

	/* Minimal (prefill) entries leave the recipe for the entries after. */
	if (minimal) {
		memset(e->uuid, 0, sizeof(e->uuid));
		e->uuid[0] = (u8)idx;
		e->uuid[1] = (u8)(idx >> 8);
		e->desc[0] = 'p';
		e->key[0] = (u8)idx;
		e->desc_len = 1;
		e->key_len = 1;
		return;
	}
	for (i = 0; i < 16; i++)
		e->uuid[i] = (u8)take(r);
	e->desc_len = pick_len(r, 255);
	e->key_len = pick_len(r, 256);
	seed = take(r);
	for (i = 0; i < e->desc_len; i++) {
		u8 c = (u8)(seed + i * 0x9b);

		e->desc[i] = (char)(c ? c : 0x7f);
	}
	/* Now and then a NUL somewhere in the description. */
	if (e->desc_len && take(r) < 24)
		e->desc[take(r) % e->desc_len] = '\0';
	seed = take(r);
	for (i = 0; i < e->key_len; i++)
		e->key[i] = (u8)(seed ^ (i * 0x3d) ^ (i >> 3));
}

static int writer_visit(const struct crash_key_ref *ref, void *arg)
{
	unsigned int *n = arg;
	const struct w_entry *e = &added[*n];

	CHECK(*n < MAX_KEYS, "too many visits");
	CHECK(!memcmp(ref->uuid, e->uuid, 16) &&
	      ref->desc_len == e->desc_len &&
	      !memcmp(ref->desc, e->desc, e->desc_len) &&
	      ref->key_len == e->key_len &&
	      !memcmp(ref->key, e->key, e->key_len),
	      "written entry %u does not parse back identically", *n);
	(*n)++;
	return 0;
}

/*
 * Recipe: flags (0xfc..0xff: start with 1021..1024 minimal entries), count,
 * capacity choice, then per entry uuid, lengths, content seeds.
 */
static void run_writer(const u8 *data, size_t size)
{
	struct recipe r = { data, size };
	struct crash_key_blob_writer w;
	struct blob_fuzz_stats *st = &blob_fuzz_stats;
	unsigned int flags, prefill, n, i, count = 0, visits;
	size_t plenty, cap, pos = HDR_LEN, total;
	const char *why = NULL;
	struct w_entry e;
	u8 *buf;
	int ret;

	flags = take(&r);
	prefill = (flags & 0xfc) == 0xfc ? MAX_KEYS - (flags & 3) : 0;
	n = take(&r) % 33;
	plenty = crash_key_blob_max_len(prefill + n);
	/*
	 * Never below MIN_LEN: crash_key_blob_finish() writes the header and
	 * digest without looking at cap (see tests/host/blob_test.c).
	 */
	if (take(&r) < 160) {
		cap = plenty;
	} else {
		/* One take() per statement: the order must not vary by compiler. */
		cap = take(&r);
		cap |= take(&r) << 8;
		cap |= take(&r) << 16;
		cap = MIN_LEN + cap % (plenty - MIN_LEN + 1);
	}

	buf = xmalloc(cap);	/* exactly cap: ASan sees any write past it */
	memset(buf, 0xee, cap);
	crash_key_blob_start(&w, buf, cap);
	for (i = 0; i < prefill + n; i++) {
		bool full, bad, nofit;
		size_t k;

		make_entry(&r, &e, i < prefill, i);
		full = count >= MAX_KEYS;
		bad = !e.desc_len || e.desc_len > 255 || !e.key_len ||
		      e.key_len > 256;
		for (k = 0; !bad && k < e.desc_len; k++)
			bad = !e.desc[k];
		nofit = pos + ENT_LEN + e.desc_len + e.key_len + DIGEST_LEN > cap;

		ret = crash_key_blob_add(&w, e.uuid, e.desc, e.desc_len, e.key,
					 e.key_len);
		if (!full && !bad && !nofit) {
			CHECK(ret == 0, "add %u (%zu/%zu) refused: %d", i,
			      e.desc_len, e.key_len, ret);
			added[count++] = e;
			pos += ENT_LEN + e.desc_len + e.key_len;
		} else {
			CHECK((ret == -ENOSPC && (full || nofit)) ||
			      (ret == -EINVAL && bad),
			      "add %u: returned %d (full %d bad %d nofit %d)",
			      i, ret, full, bad, nofit);
			if (full)
				st->w_keylimit++;
			else if (ret == -EINVAL)
				st->w_einval++;
			else
				st->w_enospc++;
		}
		CHECK(w.count == count && w.pos == pos,
		      "writer at %zu/%u, model at %zu/%u", w.pos, w.count,
		      pos, count);
	}
	total = crash_key_blob_finish(&w);
	CHECK(total == pos + DIGEST_LEN && total <= cap,
	      "finish returned %zu, expected %zu (cap %zu)", total,
	      pos + DIGEST_LEN, cap);
	for (i = total; i < cap; i++)
		CHECK(buf[i] == 0xee, "writer touched byte %u past the blob", i);

	/* Exactly the blob, then the blob with the rest of the buffer. */
	visits = 0;
	ret = crash_key_blob_parse(buf, total, writer_visit, &visits, &why);
	CHECK(ret == 0 && visits == count,
	      "written blob: parse returned %d (%s), %u of %u visits", ret,
	      why ? why : "", visits, count);
	visits = 0;
	ret = crash_key_blob_parse(buf, cap, writer_visit, &visits, &why);
	CHECK(ret == 0 && visits == count,
	      "written blob with padding: parse returned %d (%s)", ret,
	      why ? why : "");
	st->w_entries += count;
	free(buf);
}

/* ---------------------------------------------------------------- entry */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct blob_fuzz_counts *cnt;
	unsigned int mode, stop_at;
	size_t n, total;
	u8 *copy;

	if (!size) {
		CHECK(crash_key_blob_parse(data, 0, visit, &vs, NULL) == -EINVAL,
		      "empty input accepted");
		return 0;
	}
	mode = data[0] & 3;
	stop_at = data[0] >> 2;
	data++;
	n = size - 1;
	cnt = &blob_fuzz_stats.mode[mode];
	cnt->inputs++;

	switch (mode) {
	case BF_RAW:
		check_parse(data, n, stop_at, true, cnt);
		break;
	case BF_FIXUP:
	case BF_FIXUP_NOWHY:
		copy = xmalloc(n);	/* exactly n bytes, as the input was */
		memcpy(copy, data, n);
		if (n >= HDR_LEN) {
			total = rd32(copy + 8);
			if (total >= MIN_LEN && total <= n)
				sha256(copy, total - DIGEST_LEN,
				       copy + total - DIGEST_LEN);
		}
		check_parse(copy, n, stop_at, mode == BF_FIXUP, cnt);
		free(copy);
		break;
	case BF_WRITER:
		run_writer(data, n);
		break;
	}
	return 0;
}

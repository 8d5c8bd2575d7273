// SPDX-License-Identifier: GPL-2.0
/*
 * Crash key blob writer and parser (format in include/linux/crash_key_blob.h).
 *
 * The parser is the only code that reads bytes the kdump kernel cannot trust
 * (memory left by a kernel that just crashed), so it checks every length
 * against the bytes that remain before it reads them and verifies the digest
 * before it hands out a single entry. Integers are read and written byte by
 * byte: the blob has no alignment and the same source builds on the host
 * (tests/host) for unit tests and fuzzing.
 */
#include <linux/build_bug.h>
#include <linux/crash_key_blob.h>
#include <linux/errno.h>
#include <linux/string.h>
#include <crypto/sha2.h>

#define HDR_LEN		sizeof(struct crash_key_blob_header)
#define ENTRY_LEN	sizeof(struct crash_key_blob_entry)

/* Both structs are padding-free on every ABI; the format depends on it. */
static_assert(HDR_LEN == 24);
static_assert(ENTRY_LEN == 24);

static u32 get_le16(const u8 *p)
{
	return p[0] | (u32)p[1] << 8;
}

static u32 get_le32(const u8 *p)
{
	return p[0] | (u32)p[1] << 8 | (u32)p[2] << 16 | (u32)p[3] << 24;
}

static void put_le16(u8 *p, u32 v)
{
	p[0] = v;
	p[1] = v >> 8;
}

static void put_le32(u8 *p, u32 v)
{
	put_le16(p, v);
	put_le16(p + 2, v >> 16);
}

#define HDR_OFF(member)		offsetof(struct crash_key_blob_header, member)
#define ENTRY_OFF(member)	offsetof(struct crash_key_blob_entry, member)
#define HDR(member, base)	((const u8 *)(base) + HDR_OFF(member))
#define ENT(member, base)	((const u8 *)(base) + ENTRY_OFF(member))

static int reject(const char **why, const char *reason, int err)
{
	if (why)
		*why = reason;
	return err;
}

/*
 * Mainline's hand-over (its dm-crypt option, Linux 6.16+): a 32-bit count of
 * at most 128 keys, then 388 bytes per key. Worth a word of its own: a user
 * with mixed kernels must learn why nothing was restored.
 */
#define MAINLINE_MAX_KEYS	128
#define MAINLINE_ENTRY_LEN	388
#define MAINLINE_FORMAT	"mainline Linux's own format (6.16+), which this kernel does not read"

static bool looks_like_mainline(const u8 *b, size_t len)
{
	u32 count = get_le32(b);

	return count && count <= MAINLINE_MAX_KEYS &&
	       sizeof(u32) + (size_t)count * MAINLINE_ENTRY_LEN <= len;
}

static int check_header(const u8 *b, size_t len, size_t *total,
			unsigned int *count, const char **why)
{
	if (len < CRASH_KEY_BLOB_MIN_LEN)
		return reject(why, "shorter than an empty blob", -EINVAL);
	if (get_le32(HDR(magic, b)) != CRASH_KEY_BLOB_MAGIC) {
		if (looks_like_mainline(b, len))
			return reject(why, MAINLINE_FORMAT, -EINVAL);
		return reject(why, "bad magic", -EINVAL);
	}
	if (get_le16(HDR(version, b)) != CRASH_KEY_BLOB_VERSION)
		return reject(why, "unknown version", -EPROTONOSUPPORT);
	if (get_le16(HDR(header_len, b)) != HDR_LEN)
		return reject(why, "bad header length", -EINVAL);
	if (get_le32(HDR(flags, b)) || get_le32(HDR(reserved, b)))
		return reject(why, "reserved header bits set", -EINVAL);

	*total = get_le32(HDR(total_len, b));
	*count = get_le32(HDR(count, b));
	if (*total < CRASH_KEY_BLOB_MIN_LEN || *total > len)
		return reject(why, "total length out of range", -EINVAL);
	if (*count > CRASH_KEY_MAX_KEYS)
		return reject(why, "too many keys", -EINVAL);
	return 0;
}

/* Decode the entry at @pos; @end is where the digest starts. */
static int decode_entry(const u8 *b, size_t *pos, size_t end,
			struct crash_key_ref *ref, const char **why)
{
	const u8 *e = b + *pos;

	if (end - *pos < ENTRY_LEN)
		return reject(why, "entry header truncated", -EINVAL);
	ref->key_len = get_le16(ENT(key_len, e));
	ref->desc_len = get_le16(ENT(desc_len, e));
	if (get_le32(ENT(reserved, e)))
		return reject(why, "reserved entry bits set", -EINVAL);
	if (!ref->key_len || ref->key_len > CRASH_KEY_MAX_KEY_LEN)
		return reject(why, "key length out of range", -EINVAL);
	if (!ref->desc_len || ref->desc_len > CRASH_KEY_MAX_DESC_LEN)
		return reject(why, "description length out of range", -EINVAL);
	if (end - *pos - ENTRY_LEN < ref->desc_len + ref->key_len)
		return reject(why, "entry truncated", -EINVAL);
	if (memchr(e + ENTRY_LEN, '\0', ref->desc_len))
		return reject(why, "NUL inside a description", -EINVAL);

	ref->uuid = ENT(uuid, e);
	ref->desc = (const char *)e + ENTRY_LEN;
	ref->key = e + ENTRY_LEN + ref->desc_len;
	*pos += ENTRY_LEN + ref->desc_len + ref->key_len;
	return 0;
}

static int check_entries(const u8 *b, size_t end, unsigned int count,
			 const char **why)
{
	struct crash_key_ref ref;
	size_t pos = HDR_LEN;
	unsigned int i;
	int ret;

	for (i = 0; i < count; i++) {
		ret = decode_entry(b, &pos, end, &ref, why);
		if (ret)
			return ret;
	}
	if (pos != end)
		return reject(why, "bytes between last entry and digest", -EINVAL);
	return 0;
}

int crash_key_blob_parse(const void *buf, size_t len, crash_key_visit_fn visit,
			 void *arg, const char **why)
{
	u8 digest[CRASH_KEY_DIGEST_LEN];
	struct crash_key_ref ref;
	const u8 *b = buf;
	unsigned int count, i;
	size_t total, end, pos;
	int ret;

	ret = check_header(b, len, &total, &count, why);
	if (ret)
		return ret;
	end = total - CRASH_KEY_DIGEST_LEN;
	ret = check_entries(b, end, count, why);
	if (ret)
		return ret;

	sha256(b, end, digest);
	ret = memcmp(digest, b + end, sizeof(digest));
	memzero_explicit(digest, sizeof(digest));
	if (ret)
		return reject(why, "digest mismatch", -EBADMSG);

	for (pos = HDR_LEN, i = 0; i < count; i++) {
		ret = decode_entry(b, &pos, end, &ref, why);
		if (!ret)
			ret = visit(&ref, arg);
		if (ret)
			return ret;
	}
	return 0;
}

size_t crash_key_blob_max_len(unsigned int count)
{
	return CRASH_KEY_BLOB_MIN_LEN + (size_t)count * CRASH_KEY_ENTRY_MAX_LEN;
}

void crash_key_blob_start(struct crash_key_blob_writer *w, void *buf,
			  size_t cap)
{
	w->buf = buf;
	w->cap = cap;
	w->pos = HDR_LEN;
	w->count = 0;
}

int crash_key_blob_add(struct crash_key_blob_writer *w, const u8 *uuid,
		       const char *desc, size_t desc_len, const u8 *key,
		       size_t key_len)
{
	size_t need = ENTRY_LEN + desc_len + key_len;
	u8 *e = w->buf + w->pos;

	if (w->count >= CRASH_KEY_MAX_KEYS)
		return -ENOSPC;
	if (!key_len || key_len > CRASH_KEY_MAX_KEY_LEN ||
	    !desc_len || desc_len > CRASH_KEY_MAX_DESC_LEN ||
	    memchr(desc, '\0', desc_len))
		return -EINVAL;
	if (w->pos + need + CRASH_KEY_DIGEST_LEN > w->cap)
		return -ENOSPC;

	memcpy(e, uuid, CRASH_KEY_UUID_LEN);
	put_le16(e + ENTRY_OFF(key_len), key_len);
	put_le16(e + ENTRY_OFF(desc_len), desc_len);
	put_le32(e + ENTRY_OFF(reserved), 0);
	memcpy(e + ENTRY_LEN, desc, desc_len);
	memcpy(e + ENTRY_LEN + desc_len, key, key_len);
	w->pos += need;
	w->count++;
	return 0;
}

/*
 * Fill in the header and the digest; returns the blob's total length, or 0
 * if the buffer is too small even for an empty blob.
 */
size_t crash_key_blob_finish(struct crash_key_blob_writer *w)
{
	u8 *b = w->buf;
	size_t total = w->pos + CRASH_KEY_DIGEST_LEN;

	if (total > w->cap)
		return 0;

	put_le32(b + HDR_OFF(magic), CRASH_KEY_BLOB_MAGIC);
	put_le16(b + HDR_OFF(version), CRASH_KEY_BLOB_VERSION);
	put_le16(b + HDR_OFF(header_len), HDR_LEN);
	put_le32(b + HDR_OFF(total_len), total);
	put_le32(b + HDR_OFF(count), w->count);
	put_le32(b + HDR_OFF(flags), 0);
	put_le32(b + HDR_OFF(reserved), 0);
	sha256(b, w->pos, b + w->pos);
	return total;
}

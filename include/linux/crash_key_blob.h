/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Crash key blob: the dm-crypt volume keys that a crashed kernel hands to its
 * kdump kernel, as one self-checking byte string.
 *
 * This header is shared by the kernel, the host unit tests and the fuzz
 * targets, so it uses only the fixed-size types of <linux/types.h>.
 *
 * Layout (every integer little-endian, no padding, no alignment):
 *
 *   header   struct crash_key_blob_header
 *   entry    struct crash_key_blob_entry, then desc_len bytes of key
 *            description (no NUL), then key_len bytes of key
 *   ...      (count entries)
 *   digest   SHA-256 of every byte before it
 *
 * total_len covers header, entries and digest. Whatever follows total_len
 * inside the segment (page padding) is not part of the blob.
 */
#ifndef _LINUX_CRASH_KEY_BLOB_H
#define _LINUX_CRASH_KEY_BLOB_H

#include <linux/types.h>

#define CRASH_KEY_BLOB_MAGIC		0x59454b43	/* "CKEY" in memory */
#define CRASH_KEY_BLOB_VERSION		1

#define CRASH_KEY_MAX_KEYS		1024
#define CRASH_KEY_MAX_KEY_LEN		256
#define CRASH_KEY_MAX_DESC_LEN		255
#define CRASH_KEY_UUID_LEN		16
#define CRASH_KEY_DIGEST_LEN		32

struct crash_key_blob_header {
	__le32 magic;
	__le16 version;
	__le16 header_len;	/* sizeof(struct crash_key_blob_header) */
	__le32 total_len;
	__le32 count;
	__le32 flags;		/* none defined, must be 0 */
	__le32 reserved;	/* must be 0 */
};

struct crash_key_blob_entry {
	__u8 uuid[CRASH_KEY_UUID_LEN];	/* LUKS UUID, binary, RFC 4122 order */
	__le16 key_len;
	__le16 desc_len;
	__le32 reserved;		/* must be 0 */
};

#define CRASH_KEY_BLOB_MIN_LEN \
	(sizeof(struct crash_key_blob_header) + CRASH_KEY_DIGEST_LEN)
#define CRASH_KEY_ENTRY_MAX_LEN \
	(sizeof(struct crash_key_blob_entry) + CRASH_KEY_MAX_DESC_LEN + \
	 CRASH_KEY_MAX_KEY_LEN)
/* Largest possible blob: 1024 keys of the largest size, 547,896 bytes. */
#define CRASH_KEY_BLOB_MAX_LEN \
	(CRASH_KEY_BLOB_MIN_LEN + CRASH_KEY_MAX_KEYS * CRASH_KEY_ENTRY_MAX_LEN)

/* One entry of a validated blob; the pointers point into the blob. */
struct crash_key_ref {
	const __u8 *uuid;
	const char *desc;
	unsigned int desc_len;
	const __u8 *key;
	unsigned int key_len;
};

typedef int (*crash_key_visit_fn)(const struct crash_key_ref *ref, void *arg);

/*
 * Validate every byte of @buf (up to @len) and only then call @visit once per
 * entry, in blob order. Returns 0, the first non-zero value @visit returned,
 * or a negative errno: -EINVAL (malformed), -EPROTONOSUPPORT (unknown
 * version), -EBADMSG (digest mismatch). On error *@why, if @why is not NULL,
 * names the first problem found.
 */
int crash_key_blob_parse(const void *buf, size_t len, crash_key_visit_fn visit,
			 void *arg, const char **why);

struct crash_key_blob_writer {
	__u8 *buf;
	size_t cap;
	size_t pos;
	unsigned int count;
};

size_t crash_key_blob_max_len(unsigned int count);
void crash_key_blob_start(struct crash_key_blob_writer *w, void *buf,
			  size_t cap);
int crash_key_blob_add(struct crash_key_blob_writer *w, const __u8 *uuid,
		       const char *desc, size_t desc_len, const __u8 *key,
		       size_t key_len);
size_t crash_key_blob_finish(struct crash_key_blob_writer *w);

#endif /* _LINUX_CRASH_KEY_BLOB_H */

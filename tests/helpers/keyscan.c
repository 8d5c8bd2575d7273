// SPDX-License-Identifier: GPL-2.0
/*
 * keyscan [--where] [--forms] FILE: how often does each key given on stdin
 * occur in FILE?
 *
 * Test-only helper for the matrix's capture stage, which searches
 * /proc/vmcore (the crashed kernel's memory) for volume keys that must exist
 * only in the unmapped blob, and for a control key that a keyring holds.
 * stdin: one key per line, in hex (spaces allowed, as cryptsetup's dump
 * prints them). stdout: one count per key, in the same order. The keys are
 * never printed. With --where, each count is followed by the file offset of
 * the first hit ("-" if none), so that a copy found can be traced to the
 * physical page it was in (elfcheck --paddr).
 *
 * With --forms, each key is looked for in five forms, one count line each: the
 * whole key, its first and its second half (an XTS key is two AES keys, which
 * the cipher keeps apart), and each half with its 32-bit words byte-swapped:
 * lib/crypto/aes.c expands a key into words with get_unaligned_le32(), so the
 * first round keys are the key itself on a little-endian arch and the key
 * swapped word by word on a big-endian one (s390x without CPACF's AES).
 * A key whose halves are not whole words gives its whole form only.
 */
#define _GNU_SOURCE	/* memmem() */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hex.h"

#define MAX_KEYS	16	/* needles: three keys in five forms, and one */
#define FORMS		5
#define MAX_KEY_LEN	512
#define CHUNK		(1 << 20)

struct needle {
	unsigned char bytes[MAX_KEY_LEN];
	size_t len;
	unsigned long hits;
	unsigned long long first;	/* file offset of the first hit */
};

/* One line of hex digits (blanks ignored) into @n; 0 if it holds a key. */
static int parse_key(const char *line, struct needle *n)
{
	int hi = -1, v;

	n->len = 0;
	for (; *line && *line != '\n'; line++) {
		if (*line == ' ' || *line == '\t')
			continue;
		v = hex_value((unsigned char)*line);
		if (v < 0 || (hi < 0 && n->len == MAX_KEY_LEN))
			return -1;
		if (hi < 0) {
			hi = v;
		} else {
			n->bytes[n->len++] = (unsigned char)(hi << 4 | v);
			hi = -1;
		}
	}
	return hi < 0 && n->len ? 0 : -1;
}

/* The halves of @key, and each with its 32-bit words swapped, after it. */
static int add_forms(struct needle *keys, int nkeys)
{
	const struct needle *key = &keys[nkeys - 1];
	size_t half = key->len / 2, i;
	int f;

	if (key->len % 8)
		return nkeys;
	if (nkeys + FORMS - 1 > MAX_KEYS)
		return -1;
	for (f = 1; f < FORMS; f++) {
		struct needle *n = &keys[nkeys + f - 1];
		const unsigned char *from = key->bytes + (f % 2 ? 0 : half);

		n->len = half;
		for (i = 0; i < half; i++)
			n->bytes[i] = f < 3 ? from[i] : from[i ^ 3];
	}
	return nkeys + FORMS - 1;
}

/* @buf holds the file's bytes from offset @at. */
static void count_in(const unsigned char *buf, size_t len, unsigned long long at,
		     struct needle *n)
{
	const unsigned char *p = buf, *end = buf + len;

	while ((size_t)(end - p) >= n->len) {
		p = memmem(p, end - p, n->bytes, n->len);
		if (!p)
			return;
		if (!n->hits++)
			n->first = at + (unsigned long long)(p - buf);
		p++;
	}
}

/* Streams FILE; a chunk starts with the last MAX_KEY_LEN - 1 bytes before it. */
static int scan(const char *path, struct needle *keys, int nkeys)
{
	static unsigned char buf[MAX_KEY_LEN + CHUNK];
	unsigned long long at = 0;	/* file offset of buf[0] */
	size_t keep = 0, got;
	FILE *f = fopen(path, "rb");
	int i;

	if (!f) {
		fprintf(stderr, "keyscan: %s: %s\n", path, strerror(errno));
		return -1;
	}
	while ((got = fread(buf + keep, 1, CHUNK, f)) > 0) {
		size_t total = keep + got;

		for (i = 0; i < nkeys; i++) {
			/* Only matches that end in the new bytes: none counts twice. */
			size_t from = keep >= keys[i].len ? keep - keys[i].len + 1 : 0;

			count_in(buf + from, total - from, at + from, &keys[i]);
		}
		keep = total < MAX_KEY_LEN - 1 ? total : MAX_KEY_LEN - 1;
		memmove(buf, buf + total - keep, keep);
		at += total - keep;
	}
	if (ferror(f)) {
		fprintf(stderr, "keyscan: reading %s: %s\n", path, strerror(errno));
		fclose(f);
		return -1;
	}
	fclose(f);
	return 0;
}

int main(int argc, char **argv)
{
	static struct needle keys[MAX_KEYS];
	char line[4 * MAX_KEY_LEN];
	int nkeys = 0, where = 0, forms = 0, arg, i;

	for (arg = 1; arg < argc - 1; arg++) {
		if (!strcmp(argv[arg], "--where"))
			where = 1;
		else if (!strcmp(argv[arg], "--forms"))
			forms = 1;
		else
			break;
	}
	if (arg != argc - 1) {
		fprintf(stderr, "usage: keyscan [--where] [--forms] FILE < keys-in-hex\n");
		return 2;
	}
	while (fgets(line, sizeof(line), stdin)) {
		if (nkeys == MAX_KEYS || parse_key(line, &keys[nkeys])) {
			fprintf(stderr, "keyscan: key %d: not 1 to %d bytes of hex\n",
				nkeys + 1, MAX_KEY_LEN);
			return 2;
		}
		nkeys++;
		if (forms && (nkeys = add_forms(keys, nkeys)) < 0) {
			fprintf(stderr, "keyscan: more than %d needles\n", MAX_KEYS);
			return 2;
		}
	}
	if (!nkeys) {
		fprintf(stderr, "keyscan: no key on stdin\n");
		return 2;
	}
	if (scan(argv[arg], keys, nkeys))
		return 1;
	for (i = 0; i < nkeys; i++) {
		printf("%lu", keys[i].hits);
		if (where && keys[i].hits)
			printf(" %#llx", keys[i].first);
		else if (where)
			printf(" -");
		putchar('\n');
	}
	explicit_bzero(keys, sizeof(keys));
	return 0;
}

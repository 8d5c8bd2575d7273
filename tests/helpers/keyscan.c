// SPDX-License-Identifier: GPL-2.0
/*
 * keyscan [--where] FILE: how often does each key given on stdin occur in FILE?
 *
 * Test-only helper for the matrix's capture stage, which searches
 * /proc/vmcore (the crashed kernel's memory) for volume keys that must exist
 * only in the unmapped blob, and for a control key that a keyring holds.
 * stdin: one key per line, in hex (spaces allowed, as cryptsetup's dump
 * prints them). stdout: one count per key, in the same order. The keys are
 * never printed. With --where, each count is followed by the file offset of
 * the first hit ("-" if none), so that a copy found can be traced to the
 * physical page it was in (elfcheck --paddr).
 */
#define _GNU_SOURCE	/* memmem() */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hex.h"

#define MAX_KEYS	8
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
	int nkeys = 0, where, i;

	where = argc == 3 && !strcmp(argv[1], "--where");
	if (argc != 2 + where) {
		fprintf(stderr, "usage: keyscan [--where] FILE < keys-in-hex\n");
		return 2;
	}
	while (fgets(line, sizeof(line), stdin)) {
		if (nkeys == MAX_KEYS || parse_key(line, &keys[nkeys])) {
			fprintf(stderr, "keyscan: key %d: not 1 to %d bytes of hex\n",
				nkeys + 1, MAX_KEY_LEN);
			return 2;
		}
		nkeys++;
	}
	if (!nkeys) {
		fprintf(stderr, "keyscan: no key on stdin\n");
		return 2;
	}
	if (scan(argv[1 + where], keys, nkeys))
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

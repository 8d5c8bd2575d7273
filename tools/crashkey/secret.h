/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Buffers for passphrases and volume keys, and reading passphrases.
 *
 * A secret lives in its own anonymous mapping: locked in memory so it is
 * never swapped, excluded from core dumps, and wiped before it is unmapped,
 * so no copy is left behind in freed heap memory.
 */
#ifndef CRASHKEY_SECRET_H
#define CRASHKEY_SECRET_H

#include <stdbool.h>
#include <stddef.h>

struct secret {
	unsigned char *data;	/* NULL until allocated */
	size_t len;		/* bytes in use */
	size_t cap;		/* bytes mapped */
};

/* Largest passphrase read from a terminal or one line of stdin. */
#define PASSPHRASE_LINE_MAX	8192
/* Largest key file, as cryptsetup's default --keyfile-size limit. */
#define KEY_FILE_MAX		(8u * 1024 * 1024)

/* Makes the process undumpable, so no core file can hold a secret. */
void secret_harden_process(void);

/* Allocates @cap zeroed bytes. 0 or -ENOMEM. */
int secret_alloc(struct secret *s, size_t cap);
/* Wipes and releases; safe to call on a zeroed or already freed secret. */
void secret_free(struct secret *s);

/* Where add takes the passphrase from. */
enum pass_source {
	PASS_DEFAULT,	/* terminal if stdin is one, else one line of stdin */
	PASS_LINE,	/* one line of stdin (--stdin) */
	PASS_FILE,	/* a whole file, "-" for all of stdin (--key-file) */
};

/*
 * Reads a passphrase into @s. Prints its own error message and returns
 * false on failure; @s is wiped and freed then.
 */
bool secret_read_passphrase(struct secret *s, enum pass_source src,
			    const char *key_file, const char *prompt);

#endif

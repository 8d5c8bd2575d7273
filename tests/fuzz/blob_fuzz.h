/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Fuzz target over the crash key blob parser and writer.
 *
 * Input byte 0 is a control byte; the rest is the payload.
 *   bits 0-1  mode: BF_RAW      parse the payload as it is
 *                   BF_FIXUP    recompute the digest where the payload's
 *                               total_len puts it, then parse (reaches the
 *                               visitor with structurally mutated blobs)
 *                   BF_WRITER   read the payload as a recipe of entries,
 *                               write them, parse the result back
 *                   BF_FIXUP_NOWHY  as BF_FIXUP, with a NULL why pointer
 *   bits 2-7  parse modes: if not 0, the visitor returns a stop value on
 *             that call, which the parser must hand back
 */
#ifndef CRASHKEY_BLOB_FUZZ_H
#define CRASHKEY_BLOB_FUZZ_H

#include <stddef.h>
#include <stdint.h>

enum blob_fuzz_mode {
	BF_RAW = 0,
	BF_FIXUP = 1,
	BF_WRITER = 2,
	BF_FIXUP_NOWHY = 3,
	BF_MODES
};

#define BF_CTL(mode, stop_at)	((uint8_t)((mode) | (stop_at) << 2))

struct blob_fuzz_counts {
	unsigned long inputs;
	unsigned long accepted;		/* parse returned 0 */
	unsigned long stopped;		/* the visitor's stop value came back */
	unsigned long einval;
	unsigned long eproto;
	unsigned long ebadmsg;
	unsigned long visits;
};

struct blob_fuzz_stats {
	struct blob_fuzz_counts mode[BF_MODES];
	unsigned long w_entries;	/* entries written and parsed back */
	unsigned long w_einval;		/* adds refused as invalid */
	unsigned long w_enospc;		/* adds refused for lack of room */
	unsigned long w_keylimit;	/* adds refused as entry 1025 */
};

extern struct blob_fuzz_stats blob_fuzz_stats;

/* Called with a message before the target aborts on a broken property. */
extern void (*blob_fuzz_failure_hook)(const char *msg);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#endif

// SPDX-License-Identifier: GPL-2.0
/*
 * Drive blob_fuzz.c without libFuzzer: a deterministic stream of valid blobs
 * (written by the writer under test), mutated with a fixed-seed PRNG, fed to
 * LLVMFuzzerTestOneInput() under ASan/UBSan. Prints TAP.
 *
 *   blob_fuzz_standalone [-n ITERS] [-s SEED] [-t SECONDS] [--crash-dir DIR]
 *   blob_fuzz_standalone --write-corpus DIR   seed inputs for libFuzzer
 *   blob_fuzz_standalone FILE...              replay saved inputs
 *
 * When an input breaks a property or trips a sanitizer, it is written to
 * DIR/blob_fuzz-crash.bin (replay it with the third form) before the run
 * dies, and the TAP stream ends with "not ok" and "Bail out!".
 */
#include <linux/crash_key_blob.h>
#include <linux/errno.h>

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <sanitizer/common_interface_defs.h>

#include "blob_fuzz.h"

#define HDR_LEN		24u
#define ENT_LEN		24u
#define DIGEST_LEN	32u
#define MAX_GEN_KEYS	48u
#define MAX_GROW	8192u

/* ------------------------------------------------------------------ PRNG */

static uint64_t rng;

static void rng_seed(uint64_t seed)
{
	/* One splitmix64 step, so that small seeds give unrelated streams. */
	uint64_t z = seed + 0x9e3779b97f4a7c15ull;

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	rng = (z ^ (z >> 31)) | 1;
}

static uint64_t rnd(void)
{
	/* xorshift64* */
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return rng * 0x2545f4914f6cdd1dull;
}

static uint32_t below(uint32_t n)
{
	return n ? (uint32_t)(rnd() % n) : 0;
}

static bool chance(unsigned int percent)
{
	return below(100) < percent;
}

/* ---------------------------------------------------- the current input */

static const char *crash_dir = ".";
static const uint8_t *cur_input;
static size_t cur_len;
static unsigned long cur_iter;
static bool reported;

static void save_input(char *path, size_t path_size)
{
	FILE *f;

	snprintf(path, path_size, "%s/blob_fuzz-crash.bin", crash_dir);
	f = fopen(path, "wb");
	if (!f || fwrite(cur_input, 1, cur_len, f) != cur_len || fclose(f))
		snprintf(path, path_size, "(could not save the input)");
}

static void report_death(const char *what)
{
	char path[4096];

	if (reported)
		return;
	reported = true;
	save_input(path, sizeof(path));
	printf("not ok 1 - input %lu (%zu bytes, control byte 0x%02x): %s; saved to %s\n",
	       cur_iter, cur_len, cur_len ? cur_input[0] : 0, what, path);
	printf("Bail out! replay with: blob_fuzz_standalone %s\n", path);
	fflush(stdout);
}

static void on_failure(const char *msg)
{
	report_death(msg);
}

static void on_sanitizer_death(void)
{
	report_death("sanitizer report (see stderr)");
}

static void run_one(const uint8_t *data, size_t len)
{
	/* A private copy of exactly @len bytes: overreads hit ASan. */
	uint8_t *copy = malloc(len ? len : 1);

	if (!copy) {
		fputs("Bail out! out of memory\n", stdout);
		exit(1);
	}
	memcpy(copy, data, len);
	cur_input = copy;
	cur_len = len;
	LLVMFuzzerTestOneInput(copy, len);
	free(copy);
}

/* -------------------------------------------------- valid blob generator */

struct base {
	uint8_t *buf;		/* control byte, then the blob */
	size_t len;		/* control byte + blob */
	size_t cap;
	unsigned int n;
	size_t ent_off[MAX_GEN_KEYS];	/* entry offsets within the blob */
};

static size_t gen_desc_len(void)
{
	switch (below(4)) {
	case 0:
		return 1;
	case 1:
		return CRASH_KEY_MAX_DESC_LEN;
	case 2:
		return 1 + below(24);
	default:
		return 1 + below(CRASH_KEY_MAX_DESC_LEN);
	}
}

static size_t gen_key_len(void)
{
	static const size_t common[] = { 1, 16, 32, 64, 255, 256 };

	if (chance(60))
		return common[below(sizeof(common) / sizeof(common[0]))];
	return 1 + below(CRASH_KEY_MAX_KEY_LEN);
}

/* A valid blob of a few entries, with MAX_GROW bytes of room to mutate. */
static void gen_base(struct base *b)
{
	uint8_t uuid[CRASH_KEY_UUID_LEN], key[CRASH_KEY_MAX_KEY_LEN];
	char desc[CRASH_KEY_MAX_DESC_LEN];
	struct crash_key_blob_writer w;
	unsigned int r = below(100), i;
	size_t k, dl, kl;

	b->n = r < 10 ? 0 : r < 70 ? 1 + below(4) : r < 95 ? 5 + below(12) :
	       17 + below(MAX_GEN_KEYS - 16);
	b->cap = 1 + crash_key_blob_max_len(b->n) + MAX_GROW;
	b->buf = malloc(b->cap);
	if (!b->buf) {
		fputs("Bail out! out of memory\n", stdout);
		exit(1);
	}
	crash_key_blob_start(&w, b->buf + 1, b->cap - 1);
	for (i = 0; i < b->n; i++) {
		dl = gen_desc_len();
		kl = gen_key_len();
		for (k = 0; k < sizeof(uuid); k++)
			uuid[k] = (uint8_t)rnd();
		for (k = 0; k < dl; k++)
			desc[k] = (char)(1 + below(255));
		for (k = 0; k < kl; k++)
			key[k] = (uint8_t)rnd();
		b->ent_off[i] = w.pos;
		if (crash_key_blob_add(&w, uuid, desc, dl, key, kl)) {
			fputs("Bail out! the writer refused a valid entry\n", stdout);
			exit(1);
		}
	}
	b->len = 1 + crash_key_blob_finish(&w);
}

/* ------------------------------------------------------------ mutations */

static void put16(uint8_t *p, uint32_t v)
{
	p[0] = v & 0xff;
	p[1] = (v >> 8) & 0xff;
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, v & 0xffff);
	put16(p + 2, v >> 16);
}

static uint32_t get16(const uint8_t *p)
{
	return p[0] | (uint32_t)p[1] << 8;
}

static uint32_t get32(const uint8_t *p)
{
	return get16(p) | get16(p + 2) << 16;
}

/* Offset (within the blob) of a 16- or 32-bit field worth aiming at. */
static size_t field_off(const struct base *b, bool wide)
{
	static const size_t hdr16[] = { 4, 6 };
	static const size_t hdr32[] = { 0, 8, 12, 16, 20 };
	size_t e;

	if (!b->n || chance(50))
		return wide ? hdr32[below(5)] : hdr16[below(2)];
	e = b->ent_off[below(b->n)];
	return wide ? e + 20 : e + (chance(50) ? 16 : 18);
}

static uint32_t interesting16(uint32_t cur)
{
	static const uint32_t v[] = { 0, 1, 2, 23, 24, 25, 254, 255, 256, 257,
				      0x7fff, 0x8000, 0xffff, 0x0100, 0x1800 };

	if (chance(30))
		return (cur + (chance(50) ? 1 : 0xffff)) & 0xffff;
	return v[below(sizeof(v) / sizeof(v[0]))];
}

static uint32_t interesting32(uint32_t cur, size_t blob_len)
{
	const uint32_t v[] = { 0, 1, 55, 56, 57, 1023, 1024, 1025,
			       (uint32_t)blob_len, (uint32_t)blob_len - 1,
			       (uint32_t)blob_len + 1, 0x7fffffff, 0x80000000,
			       0xffffffff, 0x59454b43, 0x434b4559 };

	if (chance(30))
		return cur + (chance(50) ? 1 : 0xffffffff);
	return v[below(sizeof(v) / sizeof(v[0]))];
}

/*
 * Structure-aware edits of entry @i that keep total_len (and count) true,
 * so that after a digest fix-up only the parser's limit checks stand between
 * the blob and the visitor: either set the key or description length to a
 * value around a limit and grow or shrink the bytes to match, or repeat the
 * whole entry.
 */
static void reshape(struct base *b, unsigned int i, bool key, bool dup)
{
	static const uint32_t lens[] = { 0, 1, 2, 254, 255, 256, 257, 300 };
	uint8_t *blob = b->buf + 1;
	size_t len = b->len - 1, e = b->ent_off[i], at, size, k;
	uint32_t dl, kl, old, want;
	long delta;

	if (e + ENT_LEN > len || len < 16)
		return;
	kl = get16(blob + e + 16);
	dl = get16(blob + e + 18);
	size = ENT_LEN + dl + kl;
	if (e + size > len)
		return;
	if (dup) {
		if (b->len + size > b->cap)
			return;
		memmove(blob + e + size, blob + e, len - e);
		b->len += size;
		put32(blob + 8, get32(blob + 8) + (uint32_t)size);
		put32(blob + 12, get32(blob + 12) + 1);
		return;
	}
	old = key ? kl : dl;
	want = lens[below(sizeof(lens) / sizeof(lens[0]))];
	delta = (long)want - (long)old;
	at = e + ENT_LEN + dl + (key ? kl : 0);	/* end of the resized field */
	if (delta > 0) {
		if (b->len + delta > b->cap)
			return;
		memmove(blob + at + delta, blob + at, len - at);
		for (k = 0; k < (size_t)delta; k++)
			blob[at + k] = (uint8_t)(1 + below(255));
	} else {
		memmove(blob + at + delta, blob + at, len - at);
	}
	b->len += delta;
	put16(blob + e + (key ? 16 : 18), want);
	put32(blob + 8, get32(blob + 8) + (uint32_t)delta);
	for (k = i + 1; k < b->n; k++)
		b->ent_off[k] += delta;
}

/* Apply one random mutation to the blob at b->buf + 1. */
static void mutate(struct base *b)
{
	uint8_t *blob = b->buf + 1;
	size_t len = b->len - 1, off, k;

	switch (below(14)) {
	case 0:			/* flip a bit */
		if (len)
			blob[below(len)] ^= 1u << below(8);
		break;
	case 1:			/* random byte */
		if (len)
			blob[below(len)] = (uint8_t)rnd();
		break;
	case 2:			/* interesting byte, often a NUL */
		if (len) {
			static const uint8_t v[] = { 0, 0, 1, 0x7f, 0x80, 0xff };

			blob[below(len)] = v[below(sizeof(v))];
		}
		break;
	case 3:			/* a 16-bit field */
		off = field_off(b, false);
		if (off + 2 <= len)
			put16(blob + off, interesting16(get16(blob + off)));
		break;
	case 4:			/* a 32-bit field */
	case 5:
		off = field_off(b, true);
		if (off + 4 <= len)
			put32(blob + off, interesting32(get32(blob + off), len));
		break;
	case 6:			/* truncate */
		if (len) {
			k = chance(30) ? 1 : chance(30) ? DIGEST_LEN : 1 + below(len);
			b->len -= k < len ? k : len;
		}
		break;
	case 7:			/* append padding or junk */
		k = chance(50) ? 1 + below(64) : 1 + below(4096);
		if (b->len + k > b->cap)
			break;
		if (chance(50))
			memset(b->buf + b->len, chance(50) ? 0 : 0xff, k);
		else
			for (off = 0; off < k; off++)
				b->buf[b->len + off] = (uint8_t)rnd();
		b->len += k;
		break;
	case 8:			/* delete a chunk */
		if (len) {
			off = below(len);
			k = 1 + below(len - off < 64 ? len - off : 64);
			memmove(blob + off, blob + off + k, len - off - k);
			b->len -= k;
		}
		break;
	case 9:			/* duplicate a chunk (an entry, say) */
		if (len) {
			off = below(len);
			k = 1 + below(len - off < 600 ? len - off : 600);
			if (b->len + k > b->cap)
				break;
			memmove(blob + off + k, blob + off, len - off);
			b->len += k;
		}
		break;
	case 10:		/* total_len = the bytes actually there */
		if (len >= 12)
			put32(blob + 8, (uint32_t)len);
		break;
	case 11:		/* count off by a little */
		if (len >= 16)
			put32(blob + 12, b->n + below(3) - 1);
		break;
	case 12:		/* resize an entry, keeping total_len in step */
		if (b->n)
			reshape(b, below(b->n), rnd() & 1, false);
		break;
	case 13:		/* duplicate an entry, keeping count in step */
		if (b->n)
			reshape(b, below(b->n), false, true);
		break;
	}
}

/* The next input of the stream in b->buf[0 .. b->len). */
static void next_input(struct base *b)
{
	unsigned int r = below(100), mode, stop = 0, muts, i;

	mode = r < 35 ? BF_RAW : r < 70 ? BF_FIXUP : r < 80 ? BF_FIXUP_NOWHY :
	       BF_WRITER;
	if (mode == BF_WRITER) {
		/* A random recipe; the target makes entries out of anything. */
		b->n = 0;
		b->len = 1 + (chance(90) ? below(512) : below(4096));
		b->cap = b->len;
		b->buf = malloc(b->len);
		if (!b->buf) {
			fputs("Bail out! out of memory\n", stdout);
			exit(1);
		}
		for (i = 1; i < b->len; i++)
			b->buf[i] = (uint8_t)rnd();
		b->buf[0] = BF_CTL(mode, 0);
		return;
	}
	gen_base(b);
	if (b->n && chance(20))
		stop = 1 + below(b->n < 63 ? b->n : 63);
	muts = chance(10) ? 0 : 1 + (chance(60) ? 0 : below(5));
	for (i = 0; i < muts; i++)
		mutate(b);
	b->buf[0] = BF_CTL(mode, stop);
}

/* ---------------------------------------------------------------- modes */

static int write_corpus(const char *dir)
{
	char path[4096];
	struct base b;
	unsigned int i;
	FILE *f;

	if (mkdir(dir, 0777) && errno != EEXIST) {
		perror(dir);
		return 1;
	}
	rng_seed(1);
	for (i = 0; i < 64; i++) {
		if (i % 8 == 7) {
			b.len = 1 + 64 + i;
			b.buf = malloc(b.len);
			if (!b.buf)
				return 1;
			memset(b.buf, (int)i, b.len);
			b.buf[0] = BF_CTL(BF_WRITER, 0);
		} else {
			gen_base(&b);
			b.buf[0] = BF_CTL(i % 2 ? BF_RAW : BF_FIXUP, 0);
		}
		snprintf(path, sizeof(path), "%s/seed-%02u", dir, i);
		f = fopen(path, "wb");
		if (!f || fwrite(b.buf, 1, b.len, f) != b.len || fclose(f)) {
			perror(path);
			return 1;
		}
		free(b.buf);
	}
	printf("wrote 64 seed inputs to %s\n", dir);
	return 0;
}

static int replay(int argc, char **argv)
{
	int i;

	printf("1..%d\n", argc);
	for (i = 0; i < argc; i++) {
		uint8_t *buf = NULL;
		size_t len = 0, cap = 0, got;
		FILE *f = fopen(argv[i], "rb");

		if (!f) {
			printf("not ok %d - replay %s: %s\n", i + 1, argv[i],
			       strerror(errno));
			continue;
		}
		do {
			if (len == cap) {
				cap = cap ? cap * 2 : 4096;
				buf = realloc(buf, cap);
				if (!buf)
					return 1;
			}
			got = fread(buf + len, 1, cap - len, f);
			len += got;
		} while (got);
		fclose(f);
		cur_iter = (unsigned long)i;
		run_one(buf, len);
		printf("ok %d - replay %s (%zu bytes)\n", i + 1, argv[i], len);
		free(buf);
	}
	return 0;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void print_mode(unsigned int tap, const char *name, enum blob_fuzz_mode m)
{
	const struct blob_fuzz_counts *c = &blob_fuzz_stats.mode[m];

	printf("ok %u - %s: %lu inputs agree with the reference model (accepted %lu, visitor stop %lu, -EINVAL %lu, -EPROTONOSUPPORT %lu, -EBADMSG %lu; %lu visits)\n",
	       tap, name, c->inputs, c->accepted, c->stopped, c->einval,
	       c->eproto, c->ebadmsg, c->visits);
}

int main(int argc, char **argv)
{
	unsigned long iters = 200000, i;
	uint64_t seed = 0x5eedc0de;
	double seconds = 0, start;
	const struct blob_fuzz_stats *st = &blob_fuzz_stats;
	const struct blob_fuzz_counts *m = st->mode;
	bool reach;
	int a;

	for (a = 1; a < argc; a++) {
		if (!strcmp(argv[a], "-n") && a + 1 < argc)
			iters = strtoul(argv[++a], NULL, 0);
		else if (!strcmp(argv[a], "-s") && a + 1 < argc)
			seed = strtoull(argv[++a], NULL, 0);
		else if (!strcmp(argv[a], "-t") && a + 1 < argc)
			seconds = strtod(argv[++a], NULL);
		else if (!strcmp(argv[a], "--crash-dir") && a + 1 < argc)
			crash_dir = argv[++a];
		else if (!strcmp(argv[a], "--write-corpus") && a + 1 < argc)
			return write_corpus(argv[a + 1]);
		else if (argv[a][0] == '-') {
			fprintf(stderr,
				"usage: %s [-n ITERS] [-s SEED] [-t SECONDS] [--crash-dir DIR]\n"
				"       %s --write-corpus DIR\n"
				"       %s FILE...\n", argv[0], argv[0], argv[0]);
			return 2;
		} else
			break;
	}

	blob_fuzz_failure_hook = on_failure;
	__sanitizer_set_death_callback(on_sanitizer_death);
	if (a < argc)
		return replay(argc - a, argv + a);

	printf("1..5\n");
	printf("# seed 0x%llx, %lu inputs%s\n", (unsigned long long)seed, iters,
	       seconds > 0 ? " or the time limit" : "");
	fflush(stdout);
	rng_seed(seed);
	start = now();
	for (i = 0; i < iters; i++) {
		struct base b;

		if (seconds > 0 && !(i & 255) && now() - start >= seconds)
			break;
		cur_iter = i;
		next_input(&b);
		run_one(b.buf, b.len);
		free(b.buf);
	}

	printf("ok 1 - %lu inputs in %.1f s under ASan/UBSan: no sanitizer report, no broken property\n",
	       i, now() - start);
	print_mode(2, "raw blobs", BF_RAW);
	printf("# digest-fixed inputs without a why pointer: %lu\n",
	       m[BF_FIXUP_NOWHY].inputs);
	print_mode(3, "digest-fixed blobs", BF_FIXUP);
	printf("ok 4 - writer->parser: %lu recipes, %lu entries written and parsed back identically (refused: -EINVAL %lu, -ENOSPC %lu, key limit %lu)\n",
	       m[BF_WRITER].inputs, st->w_entries, st->w_einval, st->w_enospc,
	       st->w_keylimit);

	/* A stream that never reaches an outcome would test nothing there. */
	reach = m[BF_RAW].accepted && m[BF_RAW].ebadmsg && m[BF_RAW].einval &&
		m[BF_RAW].eproto && m[BF_FIXUP].accepted && m[BF_FIXUP].stopped &&
		m[BF_FIXUP].einval && m[BF_FIXUP].eproto &&
		m[BF_FIXUP_NOWHY].accepted && st->w_entries && st->w_einval &&
		st->w_enospc && st->w_keylimit;
	if (i < 20000)
		printf("ok 5 - the stream reached every outcome # SKIP only %lu inputs\n",
		       i);
	else
		printf("%sok 5 - the stream reached every outcome (accept, stop, each errno, each writer refusal)\n",
		       reach ? "" : "not ");
	return i >= 20000 && !reach;
}

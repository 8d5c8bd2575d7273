/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Messages for people and JSON for programs.
 *
 * Results go to stdout, everything that went wrong goes to stderr prefixed
 * with "crashkey: ", so a script can parse stdout whatever happens.
 */
#ifndef CRASHKEY_OUTPUT_H
#define CRASHKEY_OUTPUT_H

#include <stdbool.h>
#include <stdio.h>

struct output_opts {
	bool json;	/* list, status and unlock print one JSON object */
	bool quiet;	/* no informational lines on stdout */
	bool verbose;	/* pass libcryptsetup's messages to stderr */
};

extern struct output_opts out_opts;

/* "crashkey: <message>" on stderr, always. */
void ck_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* "crashkey: warning: <message>" on stderr, always. */
void ck_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* "crashkey: <message>" on stderr, unless --quiet. */
void ck_note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* "crashkey: <message>" on stderr, only with --verbose. */
void ck_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* A result line on stdout, unless --quiet or --json. */
void ck_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/*
 * A minimal streaming JSON writer. Commas are placed automatically; the
 * caller only has to open and close objects and arrays in the right order.
 */
#define JSON_MAX_DEPTH 16

struct json {
	FILE *f;
	int depth;
	bool need_comma[JSON_MAX_DEPTH];
	bool after_key;		/* the next value belongs to a key just written */
};

void json_init(struct json *j, FILE *f);
void json_object_begin(struct json *j);
void json_object_end(struct json *j);
void json_array_begin(struct json *j);
void json_array_end(struct json *j);
void json_key(struct json *j, const char *key);
/* A string, or null if @s is NULL. */
void json_string(struct json *j, const char *s);
void json_int(struct json *j, long v);
void json_bool(struct json *j, bool v);
void json_null(struct json *j);
/* Ends the document with a newline and flushes it. */
void json_finish(struct json *j);

/* Convenience: a key and its value in one call. */
void json_kv_string(struct json *j, const char *key, const char *s);
void json_kv_int(struct json *j, const char *key, long v);
void json_kv_bool(struct json *j, const char *key, bool v);

#endif

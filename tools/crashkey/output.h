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
 * --json output, built with json-c. Each ck_json_add_* adds one member to an
 * object (ck_json_append one element to an array) and takes ownership of
 * what it is given. They return 0, or -1 when out of memory, having freed
 * what they could not add, so a caller can OR the results together and
 * check once. A NULL @val stands for a failed allocation, not for null.
 * No key byte is ever put in JSON.
 */
struct json_object;

/* A JSON string for @s (not NULL); invalid UTF-8 becomes U+FFFD. */
struct json_object *ck_json_string(const char *s);

int ck_json_add(struct json_object *obj, const char *key,
		struct json_object *val);
int ck_json_append(struct json_object *array, struct json_object *val);
int ck_json_add_string(struct json_object *obj, const char *key,
		       const char *s);
int ck_json_add_int(struct json_object *obj, const char *key, long v);
int ck_json_add_bool(struct json_object *obj, const char *key, bool v);
int ck_json_add_null(struct json_object *obj, const char *key);
/* null for a @v < 0 (unknown), else @v != 0 as a bool. */
int ck_json_add_tribool(struct json_object *obj, const char *key, int v);

/*
 * Prints @obj on one line of stdout and frees it. If building it failed
 * (@obj NULL or @err non-zero) prints nothing and says so on stderr.
 * 0, or -1 if nothing was printed.
 */
int ck_json_print(struct json_object *obj, int err);

#endif

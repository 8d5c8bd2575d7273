// SPDX-License-Identifier: GPL-2.0
/* Human messages, and JSON through json-c. */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "output.h"

struct output_opts out_opts;

static void vmsg(FILE *f, const char *prefix, const char *fmt, va_list ap)
{
	fputs(prefix, f);
	vfprintf(f, fmt, ap);
	fputc('\n', f);
	fflush(f);
}

void ck_error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmsg(stderr, "crashkey: ", fmt, ap);
	va_end(ap);
}

void ck_warn(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmsg(stderr, "crashkey: warning: ", fmt, ap);
	va_end(ap);
}

void ck_note(const char *fmt, ...)
{
	va_list ap;

	if (out_opts.quiet)
		return;
	va_start(ap, fmt);
	vmsg(stderr, "crashkey: ", fmt, ap);
	va_end(ap);
}

void ck_debug(const char *fmt, ...)
{
	va_list ap;

	if (!out_opts.verbose)
		return;
	va_start(ap, fmt);
	vmsg(stderr, "crashkey: ", fmt, ap);
	va_end(ap);
}

void ck_info(const char *fmt, ...)
{
	va_list ap;

	if (out_opts.quiet || out_opts.json)
		return;
	va_start(ap, fmt);
	vmsg(stdout, "", fmt, ap);
	va_end(ap);
}

/*
 * Length of the valid UTF-8 sequence at @s (at most @left bytes), or 0 if
 * the bytes there are not valid UTF-8. Overlong forms and surrogates count
 * as invalid, because a strict JSON reader would reject them.
 */
static size_t utf8_seq_len(const unsigned char *s, size_t left)
{
	size_t len, i;
	uint32_t cp;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		len = 2;
		cp = s[0] & 0x1f;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		len = 3;
		cp = s[0] & 0x0f;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		len = 4;
		cp = s[0] & 0x07;
	} else {
		return 0;
	}
	if (len > left)
		return 0;
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
	    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
		return 0;
	return len;
}

/*
 * json-c copies string bytes as they are, and JSON must be UTF-8: device
 * names and key descriptions are bytes that anyone may have chosen. Each
 * byte that starts no valid sequence becomes U+FFFD (3 bytes).
 */
static char *utf8_repair(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t left = strlen(s), n, o = 0;
	char *out = malloc(3 * left + 1);

	if (!out)
		return NULL;
	while (left > 0) {
		n = utf8_seq_len(p, left);
		if (n == 0) {
			memcpy(out + o, "\xef\xbf\xbd", 3);
			o += 3;
			n = 1;
		} else {
			memcpy(out + o, p, n);
			o += n;
		}
		p += n;
		left -= n;
	}
	out[o] = '\0';
	return out;
}

static bool utf8_valid(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t left = strlen(s), n;

	for (; left > 0; p += n, left -= n) {
		n = utf8_seq_len(p, left);
		if (n == 0)
			return false;
	}
	return true;
}

struct json_object *ck_json_string(const char *s)
{
	struct json_object *str;
	char *fixed;

	if (utf8_valid(s))
		return json_object_new_string(s);
	fixed = utf8_repair(s);
	if (!fixed)
		return NULL;
	str = json_object_new_string(fixed);
	free(fixed);
	return str;
}

int ck_json_add(struct json_object *obj, const char *key,
		struct json_object *val)
{
	if (!val)
		return -1;
	if (json_object_object_add(obj, key, val) < 0) {
		json_object_put(val);
		return -1;
	}
	return 0;
}

int ck_json_append(struct json_object *array, struct json_object *val)
{
	if (!val)
		return -1;
	if (json_object_array_add(array, val) < 0) {
		json_object_put(val);
		return -1;
	}
	return 0;
}

int ck_json_add_string(struct json_object *obj, const char *key,
		       const char *s)
{
	if (!s)
		return ck_json_add_null(obj, key);
	return ck_json_add(obj, key, ck_json_string(s));
}

int ck_json_add_int(struct json_object *obj, const char *key, long v)
{
	return ck_json_add(obj, key, json_object_new_int64(v));
}

int ck_json_add_bool(struct json_object *obj, const char *key, bool v)
{
	return ck_json_add(obj, key, json_object_new_boolean(v));
}

int ck_json_add_null(struct json_object *obj, const char *key)
{
	/* json-c stores a NULL member as null. */
	return json_object_object_add(obj, key, NULL) < 0 ? -1 : 0;
}

int ck_json_add_tribool(struct json_object *obj, const char *key, int v)
{
	if (v < 0)
		return ck_json_add_null(obj, key);
	return ck_json_add_bool(obj, key, v != 0);
}

int ck_json_print(struct json_object *obj, int err)
{
	/* One line as before; "/" in device paths needs no escape. */
	const int flags = JSON_C_TO_STRING_PLAIN |
			  JSON_C_TO_STRING_NOSLASHESCAPE;
	const char *text = NULL;

	if (obj && !err)
		text = json_object_to_json_string_ext(obj, flags);
	if (text) {
		fputs(text, stdout);
		fputc('\n', stdout);
		fflush(stdout);
	} else {
		ck_error("out of memory: no JSON written");
	}
	json_object_put(obj);
	return text ? 0 : -1;
}

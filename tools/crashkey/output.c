// SPDX-License-Identifier: GPL-2.0
/* Human messages and a small JSON emitter. */
#include <stdarg.h>
#include <stdint.h>
#include <string.h>

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

void json_init(struct json *j, FILE *f)
{
	memset(j, 0, sizeof(*j));
	j->f = f;
}

/* Called before every value and key: writes the comma that separates it. */
static void json_separate(struct json *j)
{
	if (j->after_key) {
		j->after_key = false;
		return;
	}
	if (j->need_comma[j->depth])
		fputc(',', j->f);
	j->need_comma[j->depth] = true;
}

static void json_open(struct json *j, char c)
{
	json_separate(j);
	fputc(c, j->f);
	/* Deeper nesting than we ever produce would be a bug, not input. */
	if (j->depth + 1 < JSON_MAX_DEPTH)
		j->depth++;
	j->need_comma[j->depth] = false;
}

static void json_close(struct json *j, char c)
{
	if (j->depth > 0)
		j->depth--;
	fputc(c, j->f);
}

void json_object_begin(struct json *j)
{
	json_open(j, '{');
}

void json_object_end(struct json *j)
{
	json_close(j, '}');
}

void json_array_begin(struct json *j)
{
	json_open(j, '[');
}

void json_array_end(struct json *j)
{
	json_close(j, ']');
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

/* Writes @s as a JSON string; invalid UTF-8 bytes become U+FFFD. */
static void json_write_string(FILE *f, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t left = strlen(s), n;

	fputc('"', f);
	while (left > 0) {
		switch (*p) {
		case '"':  fputs("\\\"", f); break;
		case '\\': fputs("\\\\", f); break;
		case '\b': fputs("\\b", f); break;
		case '\f': fputs("\\f", f); break;
		case '\n': fputs("\\n", f); break;
		case '\r': fputs("\\r", f); break;
		case '\t': fputs("\\t", f); break;
		default:
			if (*p < 0x20 || *p == 0x7f) {
				fprintf(f, "\\u%04x", *p);
				break;
			}
			n = utf8_seq_len(p, left);
			if (n == 0) {
				fputs("\\ufffd", f);
				break;
			}
			fwrite(p, 1, n, f);
			p += n;
			left -= n;
			continue;
		}
		p++;
		left--;
	}
	fputc('"', f);
}

void json_key(struct json *j, const char *key)
{
	json_separate(j);
	json_write_string(j->f, key);
	fputc(':', j->f);
	j->after_key = true;
}

void json_string(struct json *j, const char *s)
{
	if (!s) {
		json_null(j);
		return;
	}
	json_separate(j);
	json_write_string(j->f, s);
}

void json_int(struct json *j, long v)
{
	json_separate(j);
	fprintf(j->f, "%ld", v);
}

void json_bool(struct json *j, bool v)
{
	json_separate(j);
	fputs(v ? "true" : "false", j->f);
}

void json_null(struct json *j)
{
	json_separate(j);
	fputs("null", j->f);
}

void json_finish(struct json *j)
{
	fputc('\n', j->f);
	fflush(j->f);
}

void json_kv_string(struct json *j, const char *key, const char *s)
{
	json_key(j, key);
	json_string(j, s);
}

void json_kv_int(struct json *j, const char *key, long v)
{
	json_key(j, key);
	json_int(j, v);
}

void json_kv_bool(struct json *j, const char *key, bool v)
{
	json_key(j, key);
	json_bool(j, v);
}

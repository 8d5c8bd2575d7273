// SPDX-License-Identifier: GPL-2.0
/*
 * crypttab entries and the volumes they name. The sources are looked up by
 * libblkid (luks_resolve_spec), never by parsing tags here.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "crypttab.h"
#include "output.h"

/* crypttab(5) separates fields by blanks; \r is for files edited elsewhere. */
#define FIELD_SEPS	" \t\r\n"
#define HEADER_OPTION	"header="

/* The fields of one line that unlock uses; they point into the line. */
struct fields {
	char *name;
	char *source;
	char *header;
	bool opened_at_boot;
	bool has_key_file;
};

/* Options with which systemd does not open the volume at boot. */
static bool not_opened_at_boot(const char *opt)
{
	return !strcmp(opt, "noauto") || !strcmp(opt, "swap") ||
	       !strcmp(opt, "tmp") || !strncmp(opt, "tmp=", 4);
}

/*
 * Debian decodes octal escapes (\040), systemd C-style ones: the name must
 * come out as the system's own, so a field that needs decoding is refused
 * rather than guessed at.
 */
static bool has_escape(const char *value)
{
	return strchr(value, '\\') != NULL;
}

static const char *check_name(const char *name)
{
	if (strchr(name, '/') || !strcmp(name, ".") || !strcmp(name, ".."))
		return "the name must be a plain file name";
	if (strlen(name) > MAPPER_NAME_MAX)
		return "the name is longer than device-mapper takes";
	return NULL;
}

/*
 * Finds header= among the comma-separated options (the last one counts, as
 * later options override earlier ones), and the options that keep a volume
 * from being opened at boot. NULL or why the options are bad.
 */
static const char *parse_options(char *options, struct fields *f)
{
	char *opt, *save = NULL, **header = &f->header;

	for (opt = strtok_r(options, ",", &save); opt;
	     opt = strtok_r(NULL, ",", &save)) {
		if (strncmp(opt, HEADER_OPTION, strlen(HEADER_OPTION)) == 0)
			*header = opt + strlen(HEADER_OPTION);
		else if (not_opened_at_boot(opt))
			f->opened_at_boot = false;
	}
	if (*header && !**header)
		return "header= without a file";
	return NULL;
}

/*
 * Splits a line that is not blank or a comment. NULL, or why it is no
 * entry.
 */
static const char *parse_line(char *line, struct fields *f)
{
	char *tok, *field[4] = { NULL }, *save = NULL;
	const char *why;
	int n = 0;

	for (tok = strtok_r(line, FIELD_SEPS, &save); tok;
	     tok = strtok_r(NULL, FIELD_SEPS, &save)) {
		if (n == 4)
			return "more than four fields";
		field[n++] = tok;
	}
	if (n < 2)
		return "no source device";
	f->name = field[0];
	f->source = field[1];
	f->header = NULL;
	f->opened_at_boot = true;
	f->has_key_file = field[2] && strcmp(field[2], "none") &&
			  strcmp(field[2], "-");
	why = check_name(f->name);
	if (!why && field[3])
		why = parse_options(field[3], f);
	if (!why && (has_escape(f->name) || has_escape(f->source) ||
		     (f->header && has_escape(f->header))))
		why = "backslash escapes are not supported";
	return why;
}

static int add_entry(struct crypttab *tab, const struct fields *f,
		     unsigned int line)
{
	struct crypttab_entry *e;

	e = realloc(tab->v, (tab->n + 1) * sizeof(*e));
	if (!e)
		return -ENOMEM;
	tab->v = e;
	e = &tab->v[tab->n];
	memset(e, 0, sizeof(*e));
	e->line = line;
	e->opened_at_boot = f->opened_at_boot;
	e->asked_at_boot = f->opened_at_boot && !f->has_key_file;
	e->name = strdup(f->name);
	e->source = strdup(f->source);
	e->header = f->header ? strdup(f->header) : NULL;
	/* Counted before the check: crypttab_free() frees what was copied. */
	tab->n++;
	if (!e->name || !e->source || (f->header && !e->header))
		return -ENOMEM;
	return 0;
}

/* One line of the file; a bad one is reported and skipped. */
static int read_line(struct crypttab *tab, char *line, unsigned int lineno)
{
	struct fields f = { 0 };
	const char *why;

	line += strspn(line, FIELD_SEPS);
	if (!*line || *line == '#')
		return 0;
	why = parse_line(line, &f);
	if (why) {
		ck_warn("%s:%u: %s; line skipped", tab->path, lineno, why);
		return 0;
	}
	return add_entry(tab, &f, lineno);
}

static int read_lines(struct crypttab *tab, FILE *f)
{
	unsigned int lineno = 0;
	size_t size = 0;
	char *line = NULL;
	int ret = 0;

	errno = 0;
	while (ret == 0 && getline(&line, &size, f) >= 0)
		ret = read_line(tab, line, ++lineno);
	if (ret == 0 && ferror(f))
		ret = errno ? -errno : -EIO;
	free(line);
	return ret;
}

int crypttab_read(const char *path, bool must_exist, struct crypttab *tab)
{
	FILE *f;
	int ret;

	tab->path = path;
	tab->v = NULL;
	tab->n = 0;
	f = fopen(path, "re");
	if (!f && errno == ENOENT && !must_exist) {
		ck_debug("no %s: volumes get the names %s<UUID>", path,
			 MAPPER_PREFIX);
		return 0;
	}
	if (!f) {
		ret = -errno;
		ck_error("cannot read crypttab %s: %s", path, strerror(-ret));
		return ret;
	}
	ret = read_lines(tab, f);
	fclose(f);
	if (ret < 0) {
		ck_error("cannot read crypttab %s: %s", path, strerror(-ret));
		crypttab_free(tab);
		return ret;
	}
	ck_debug("%s: %zu entries", path, tab->n);
	return 0;
}

void crypttab_free(struct crypttab *tab)
{
	size_t i;

	for (i = 0; i < tab->n; i++) {
		free(tab->v[i].name);
		free(tab->v[i].source);
		free(tab->v[i].header);
		free(tab->v[i].device);
	}
	free(tab->v);
	tab->v = NULL;
	tab->n = 0;
}

/* Where @e's source is now; a device that went away is forgotten. */
static void resolve_source(struct crypttab_entry *e,
			   struct luks_devlist *devs)
{
	struct stat st;

	free(e->device);
	e->device = luks_resolve_spec(devs, e->source);
	e->rdev = 0;
	/* A path comes back even when nothing is there (yet). */
	if (e->device && stat(e->device, &st) < 0) {
		free(e->device);
		e->device = NULL;
	} else if (e->device && S_ISBLK(st.st_mode)) {
		e->rdev = st.st_rdev;
	}
}

static void read_header_uuid(struct crypttab_entry *e)
{
	struct crypt_device *cd;

	e->header_err = luks_open(e->header, &cd, e->header_uuid);
	if (e->header_err < 0) {
		e->header_uuid[0] = '\0';
		return;
	}
	luks_close(cd);
	ck_debug("%s: detached LUKS header, UUID %s", e->header,
		 e->header_uuid);
}

void crypttab_resolve(struct crypttab *tab, struct luks_devlist *devs)
{
	struct crypttab_entry *e;
	size_t i;

	for (i = 0; i < tab->n; i++) {
		e = &tab->v[i];
		resolve_source(e, devs);
		if (e->header && !e->header_uuid[0])
			read_header_uuid(e);
	}
}

static bool entry_is_for(const struct crypttab_entry *e, const char *uuid,
			 dev_t rdev)
{
	/* The data device of a detached header has no UUID to go by. */
	if (e->header)
		return strcmp(e->header_uuid, uuid) == 0;
	return rdev != 0 && e->rdev == rdev;
}

const struct crypttab_entry *
crypttab_find(const struct crypttab *tab, const char *uuid,
	      const char *device, const struct crypttab_entry **second)
{
	const struct crypttab_entry *first = NULL;
	struct stat st;
	dev_t rdev = 0;
	size_t i;

	/* By device number: the source may name it by a symlink or a tag. */
	if (device && stat(device, &st) == 0 && S_ISBLK(st.st_mode))
		rdev = st.st_rdev;
	*second = NULL;
	for (i = 0; i < tab->n && !*second; i++) {
		if (!entry_is_for(&tab->v[i], uuid, rdev))
			continue;
		if (first)
			*second = &tab->v[i];
		else
			first = &tab->v[i];
	}
	return first;
}

static const char *header_error(int err)
{
	switch (-err) {
	case EINVAL:
		return "no valid LUKS header";
	case ENOTBLK:
		return "not a file or a block device";
	case EPROTO:
		return "the LUKS header holds no valid UUID";
	default:
		return strerror(-err);
	}
}

void crypttab_report_headers(const struct crypttab *tab)
{
	const struct crypttab_entry *e;
	size_t i;

	for (i = 0; i < tab->n; i++) {
		e = &tab->v[i];
		if (e->header && !e->header_uuid[0] && e->header_err < 0)
			ck_warn("%s:%u: cannot read the detached header %s of "
				"%s: %s", tab->path, e->line, e->header,
				e->name, header_error(e->header_err));
	}
}

// SPDX-License-Identifier: GPL-2.0
/* kexec and kdump-tools, as the running kernel's status sees them. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "kdump.h"
#include "sizing.h"

#define ARRAY_SIZE(a)		(sizeof(a) / sizeof((a)[0]))

#define KEXEC_CRASH_LOADED	"/sys/kernel/kexec_crash_loaded"
#define KEXEC_CRASH_SIZE	"/sys/kernel/kexec_crash_size"
#define KDUMP_CONFIG		"/usr/sbin/kdump-config"
/* Where kdump-tools keeps the initrd it builds per kernel release. */
#define KDUMP_INITRD		"/var/lib/kdump/initrd.img-"
/* Sourced by kdump-config: what it sets wins over the unit's environment. */
#define KDUMP_TOOLS_DEFAULT	"/etc/default/kdump-tools"
#define KDUMP_TOOLS_DROPINS	"/kdump-tools.service.d"
/* The drop-in the crashkey package ships, which sets it to -s. */
#define CRASHKEY_DROPIN		"/usr/lib/systemd/system" KDUMP_TOOLS_DROPINS \
				"/crashkey.conf"
#define KEXEC_ARGS		"KDUMP_KEXEC_ARGS"

/* Where systemd finds drop-ins; of two of one name, the earlier one's. */
static const char *const dropin_dirs[] = {
	"/etc/systemd/system" KDUMP_TOOLS_DROPINS,
	"/run/systemd/system" KDUMP_TOOLS_DROPINS,
	"/lib/systemd/system" KDUMP_TOOLS_DROPINS,
	"/usr/lib/systemd/system" KDUMP_TOOLS_DROPINS,
};

void check_set(struct check *c, enum check_verdict verdict,
	       const char *fmt, ...)
{
	va_list ap;

	c->verdict = verdict;
	va_start(ap, fmt);
	vsnprintf(c->detail, sizeof(c->detail), fmt, ap);
	va_end(ap);
}

void check_fail(struct check *c, const char *fmt, ...)
{
	size_t len = 0;
	va_list ap;

	if (c->verdict == CHECK_FAILED) {
		len = strlen(c->detail);
		len += (size_t)snprintf(c->detail + len,
					sizeof(c->detail) - len, "; ");
		if (len >= sizeof(c->detail))
			return;
	}
	c->verdict = CHECK_FAILED;
	va_start(ap, fmt);
	vsnprintf(c->detail + len, sizeof(c->detail) - len, fmt, ap);
	va_end(ap);
}

bool kdump_sys_path(char buf[PATH_MAX], const char *path)
{
	const char *root = getenv("CRASHKEY_SYSROOT");
	int n = snprintf(buf, PATH_MAX, "%s%s", root ? root : "", path);

	return n >= 0 && n < PATH_MAX;
}

/* Reads a line into @line, without its newline. False at the end. */
static bool get_line(FILE *f, char *line, size_t size)
{
	if (!fgets(line, (int)size, f))
		return false;
	line[strcspn(line, "\n")] = '\0';
	return true;
}

/* The first line of a small file below the sysroot, without its newline. */
static int read_line(const char *path, char *buf, size_t size)
{
	char full[PATH_MAX];
	FILE *f;

	if (!kdump_sys_path(full, path))
		return -ENAMETOOLONG;
	f = fopen(full, "re");
	if (!f)
		return -errno;
	if (!get_line(f, buf, size))
		buf[0] = '\0';
	fclose(f);
	return 0;
}

int kdump_crash_loaded(void)
{
	char buf[8];

	if (read_line(KEXEC_CRASH_LOADED, buf, sizeof(buf)) < 0)
		return -1;
	return buf[0] == '1' ? 1 : buf[0] == '0' ? 0 : -1;
}

/* Bytes reserved for the crash kernel, or -errno. */
static int crash_size(unsigned long long *bytes)
{
	char buf[32], *end;
	int ret = read_line(KEXEC_CRASH_SIZE, buf, sizeof(buf));

	if (ret < 0)
		return ret;
	/* strtoull() would take "-1" as ULLONG_MAX. */
	if (*buf < '0' || *buf > '9')
		return -EPROTO;
	errno = 0;
	*bytes = strtoull(buf, &end, 10);
	return errno || *end ? -EPROTO : 0;
}

unsigned long long kdump_needed_mib(size_t volumes)
{
	/* The base was measured with one volume. */
	unsigned long long more = volumes > 1 ? volumes - 1 : 0;

	if (!SIZING_BASE_MIB)
		return 0;
	return SIZING_BASE_MIB + (more * SIZING_VOLUME_KIB + 1023) / 1024;
}

/*
 * Below what make bench measured, a dump is not saved; at or above it, it is
 * not proven either: a distribution's kernel and initrd are larger than the
 * matrix's, which is why the detail names both figures.
 */
void kdump_check_reservation(struct check *c, size_t volumes)
{
	unsigned long long bytes, need = kdump_needed_mib(volumes);
	int ret = crash_size(&bytes);

	c->name = "reservation";
	if (ret < 0)
		check_fail(c, "cannot read %s: %s", KEXEC_CRASH_SIZE,
			   strerror(-ret));
	else if (bytes == 0)
		check_fail(c, "no memory is reserved for a crash kernel: boot "
			   "with crashkernel=");
	else if (!need)
		check_set(c, CHECK_NA, "%llu MiB reserved (crashkernel=); make "
			  "bench has no figures for this arch", bytes >> 20);
	else if (bytes < need << 20)
		check_fail(c, "%llu MiB reserved (crashkernel=), less than the "
			   "%llu MiB make bench measured for %zu volume%s (%d "
			   "MiB with one, %d KiB per more, with crashkey's own "
			   "small kernel and initrd)", bytes >> 20, need,
			   volumes, volumes == 1 ? "" : "s", SIZING_BASE_MIB,
			   SIZING_VOLUME_KIB);
	else
		check_set(c, CHECK_OK, "%llu MiB reserved (crashkernel=); make "
			  "bench measured %llu MiB for %zu volume%s with "
			  "crashkey's own small kernel and initrd: a "
			  "distribution's need more, try it (crashkey(8))",
			  bytes >> 20, need, volumes, volumes == 1 ? "" : "s");
}

/*
 * The next word of *@p into @out, split as systemd's Environment= and the
 * shell split them: blanks separate words, quotes group and are dropped,
 * a backslash outside single quotes takes the next character as it is.
 * Nothing is expanded. False when no word is left.
 */
static bool next_word(const char **p, char *out, size_t size)
{
	const char *s = *p + strspn(*p, " \t");
	size_t o = 0;
	char quote = 0;

	if (!*s)
		return false;
	for (; *s && (quote || (*s != ' ' && *s != '\t')); s++) {
		if (quote && *s == quote) {
			quote = 0;
			continue;
		}
		if (!quote && (*s == '"' || *s == '\'')) {
			quote = *s;
			continue;
		}
		if (*s == '\\' && quote != '\'' && s[1])
			s++;
		if (o + 1 < size)
			out[o++] = *s;
	}
	out[o] = '\0';
	*p = s;
	return true;
}

/* Whether kexec arguments @args make kexec use kexec_file_load(). */
static bool has_file_syscall(const char *args)
{
	char word[256];

	while (next_word(&args, word, sizeof(word)))
		if (strcmp(word, "-s") == 0 ||
		    strcmp(word, "--kexec-file-syscall") == 0)
			return true;
	return false;
}

/* Where KDUMP_KEXEC_ARGS is set, and to what. */
struct kexec_args {
	bool set;
	char value[512];
	char from[PATH_MAX];	/* the file that sets it */
};

/* The value that @word assigns to KDUMP_KEXEC_ARGS, or NULL. */
static const char *assigned(const char *word)
{
	const size_t len = strlen(KEXEC_ARGS "=");

	return strncmp(word, KEXEC_ARGS "=", len) == 0 ? word + len : NULL;
}

/* Records that @path sets the variable to @value. */
static void args_found(struct kexec_args *a, const char *value,
		       const char *path)
{
	a->set = true;
	snprintf(a->value, sizeof(a->value), "%s", value);
	snprintf(a->from, sizeof(a->from), "%s", path);
}

/*
 * The last assignment in /etc/default/kdump-tools, a shell script; a
 * commented one ("#KDUMP_KEXEC_ARGS=", as shipped) starts another word.
 */
static void default_file_args(struct kexec_args *a)
{
	char path[PATH_MAX], line[1024], word[512];
	const char *p, *v;
	FILE *f;

	if (!kdump_sys_path(path, KDUMP_TOOLS_DEFAULT))
		return;
	f = fopen(path, "re");
	if (!f)
		return;
	while (get_line(f, line, sizeof(line))) {
		p = line + strspn(line, " \t");
		/* "export KDUMP_KEXEC_ARGS=..." assigns it too. */
		if (strncmp(p, "export", 6) == 0 &&
		    (p[6] == ' ' || p[6] == '\t'))
			p += 6;
		if (next_word(&p, word, sizeof(word))) {
			v = assigned(word);
			if (v)
				args_found(a, v, path);
		}
	}
	fclose(f);
}

/* What follows "@key =" on a unit file's line, or NULL. */
static const char *unit_setting(const char *line, const char *key)
{
	size_t len = strlen(key);

	line += strspn(line, " \t");
	if (strncmp(line, key, len) != 0)
		return NULL;
	line += len;
	line += strspn(line, " \t");
	return *line == '=' ? line + 1 : NULL;
}

/*
 * What one drop-in does to the variable: its last Environment= that assigns
 * it, or an empty Environment=, which empties the environment set before.
 * False if it does neither.
 */
static bool dropin_args(const char *path, struct kexec_args *a)
{
	char line[1024], word[512];
	const char *p, *v;
	bool found = false;
	FILE *f = fopen(path, "re");

	if (!f)
		return false;
	while (get_line(f, line, sizeof(line))) {
		p = unit_setting(line, "Environment");
		if (!p)
			continue;
		if (!p[strspn(p, " \t")]) {
			a->set = false;
			found = true;
		}
		while (next_word(&p, word, sizeof(word))) {
			v = assigned(word);
			if (v) {
				args_found(a, v, path);
				found = true;
			}
		}
	}
	fclose(f);
	return found;
}

/* dropin_dirs[@i]/@name below the sysroot into @buf; false if too long. */
static bool dropin_path(char buf[PATH_MAX], size_t i, const char *name)
{
	char rel[PATH_MAX];
	int n = snprintf(rel, sizeof(rel), "%s/%s", dropin_dirs[i], name);

	return n >= 0 && n < PATH_MAX && kdump_sys_path(buf, rel);
}

/* Whether a directory before dropin_dirs[@i] has a drop-in named @name. */
static bool dropin_hidden(size_t i, const char *name)
{
	char path[PATH_MAX];
	struct stat st;

	while (i-- > 0)
		if (dropin_path(path, i, name) && lstat(path, &st) == 0)
			return true;
	return false;
}

static int only_conf(const struct dirent *d)
{
	size_t len = strlen(d->d_name);

	return len > 5 && strcmp(d->d_name + len - 5, ".conf") == 0;
}

/*
 * The variable as the drop-ins of kdump-tools.service leave it: systemd
 * reads them in file-name order, whatever their directory, so the last
 * name that sets it wins; a drop-in hides one of the same name in a later
 * directory (so a link to /dev/null in /etc masks crashkey's).
 */
static void dropins_args(struct kexec_args *a)
{
	char dir[PATH_MAX], path[PATH_MAX], last[NAME_MAX + 1] = "";
	struct kexec_args one;
	struct dirent **ents;
	const char *name;
	size_t i;
	int j, n;

	for (i = 0; i < ARRAY_SIZE(dropin_dirs); i++) {
		if (!kdump_sys_path(dir, dropin_dirs[i]))
			continue;
		n = scandir(dir, &ents, only_conf, alphasort);
		for (j = 0; j < n; j++) {
			name = ents[j]->d_name;
			memset(&one, 0, sizeof(one));
			if (strcmp(name, last) > 0 && !dropin_hidden(i, name) &&
			    dropin_path(path, i, name) &&
			    dropin_args(path, &one)) {
				*a = one;
				snprintf(last, sizeof(last), "%s", name);
			}
			free(ents[j]);
		}
		if (n >= 0)
			free(ents);
	}
}

/* Ok if the arguments that count have -s; else what to change. */
static void judge_args(struct check *c, const struct kexec_args *a)
{
	if (has_file_syscall(a->value))
		check_set(c, CHECK_OK, "%s sets " KEXEC_ARGS "=\"%s\"",
			  a->from, a->value);
	else
		check_set(c, CHECK_FAILED, "%s sets " KEXEC_ARGS "=\"%s\", "
			  "without -s: kdump-tools loads with kexec_load(), "
			  "which hands no keys over; add -s to it", a->from, a->value);
}

#define EFIVARS		"/sys/firmware/efi/efivars"
#define SECURELEVEL	"/sys/kernel/security/securelevel"

/* The value byte of the EFI variable NAME-<GUID> (after 4 attribute bytes); -1 if none. */
static int efivar_byte(const char *name)
{
	char dir[PATH_MAX], path[PATH_MAX];
	size_t len = strlen(name);
	unsigned char buf[5];
	struct dirent **ents;
	int i, n, fd, v = -1;

	if (!kdump_sys_path(dir, EFIVARS))
		return -1;
	n = scandir(dir, &ents, NULL, alphasort);
	for (i = 0; i < n; i++) {
		const char *var = ents[i]->d_name;

		if (v < 0 && !strncmp(var, name, len) && var[len] == '-' &&
		    snprintf(path, sizeof(path), "%s/%s", dir, var) < (int)sizeof(path)) {
			fd = open(path, O_RDONLY | O_CLOEXEC);
			if (fd >= 0 && read(fd, buf, sizeof(buf)) == (ssize_t)sizeof(buf))
				v = buf[4];
			if (fd >= 0)
				close(fd);
		}
		free(ents[i]);
	}
	if (n >= 0)
		free(ents);
	return v;
}

/*
 * kdump-config's own test (check_secure_boot, check_securelevel): Secure
 * Boot on and not in setup mode, or securelevel 1; then it adds -s itself.
 */
static bool kdump_tools_adds_s(void)
{
	char level[8];

	if (efivar_byte("SecureBoot") == 1 && efivar_byte("SetupMode") == 0)
		return true;
	return read_line(SECURELEVEL, level, sizeof(level)) == 0 &&
	       strcmp(level, "1") == 0;
}

/*
 * kdump-tools passes -s by itself only under Secure Boot, and otherwise
 * what KDUMP_KEXEC_ARGS says.
 */
void kdump_check_kexec_args(struct check *c)
{
	struct kexec_args a = { 0 };
	char path[PATH_MAX];
	struct stat st;

	c->name = "kdump-tools";
	if (!kdump_sys_path(path, KDUMP_CONFIG) || stat(path, &st) < 0) {
		check_set(c, CHECK_NA, "kdump-tools is not installed (no %s)",
			  KDUMP_CONFIG);
		return;
	}
	if (kdump_tools_adds_s()) {
		check_set(c, CHECK_OK, "Secure Boot is on (or securelevel 1): "
			  "kdump-tools loads with -s by itself");
		return;
	}
	default_file_args(&a);
	if (!a.set)
		dropins_args(&a);
	if (a.set)
		judge_args(c, &a);
	else
		check_set(c, CHECK_FAILED, "nothing sets " KEXEC_ARGS ", so "
			  "kdump-tools loads with kexec_load(), which hands no "
			  "keys over: set "
			  KEXEC_ARGS "=\"-s\" in " KDUMP_TOOLS_DEFAULT ", or "
			  "install crashkey's drop-in " CRASHKEY_DROPIN);
}

static bool newer(const struct stat *a, const struct stat *b)
{
	return a->st_mtim.tv_sec > b->st_mtim.tv_sec ||
	       (a->st_mtim.tv_sec == b->st_mtim.tv_sec &&
		a->st_mtim.tv_nsec > b->st_mtim.tv_nsec);
}

/*
 * kdump-tools builds its initrd only when there is none: a crypttab name,
 * header or CRASHKEY_VOLUMES changed since then would be missing from the
 * capture boot. crashkey.service rebuilds it at boot when it is stale.
 */
void kdump_check_initrd(struct check *c, const char *const *inputs, size_t n)
{
	char initrd[PATH_MAX], path[PATH_MAX], name[PATH_MAX];
	struct stat ist, st;
	struct utsname u;
	size_t i;

	c->name = "kdump-initrd";
	if (!kdump_sys_path(path, KDUMP_CONFIG) || stat(path, &st) < 0) {
		check_set(c, CHECK_NA, "kdump-tools is not installed");
		return;
	}
	if (uname(&u) < 0 ||
	    snprintf(name, sizeof(name), KDUMP_INITRD "%s", u.release) >=
	    (int)sizeof(name) || !kdump_sys_path(initrd, name)) {
		check_fail(c, "cannot name the kdump initrd");
		return;
	}
	if (stat(initrd, &ist) < 0) {
		check_fail(c, "%s does not exist: kdump-tools builds it when it "
			   "loads (systemctl restart kdump-tools)", name);
		return;
	}
	for (i = 0; i < n; i++) {
		if (!kdump_sys_path(path, inputs[i]) || stat(path, &st) < 0 ||
		    !newer(&st, &ist))
			continue;
		check_fail(c, "%s changed after %s was built: systemctl "
			   "restart crashkey kdump-tools rebuilds and loads it",
			   inputs[i], name);
	}
	if (c->verdict != CHECK_FAILED)
		check_set(c, CHECK_OK, "%s is newer than crashkey's "
			  "configuration, the crypttab and its headers", name);
}

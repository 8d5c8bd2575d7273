/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The kexec side of the running system, for status and its checks: whether
 * a crash kernel is loaded, how much memory is reserved for it, and whether
 * kdump-tools loads it with kexec_file_load() (kexec -s), the only load that
 * carries keys.
 *
 * Every path is read below $CRASHKEY_SYSROOT when that is set (a test aid):
 * /sys/kernel/kexec_crash_loaded, /sys/kernel/kexec_crash_size,
 * /usr/sbin/kdump-config, /etc/default/kdump-tools and the systemd drop-in
 * directories of kdump-tools.service.
 */
#ifndef CRASHKEY_KDUMP_H
#define CRASHKEY_KDUMP_H

#include <limits.h>
#include <stddef.h>
#include <stdbool.h>

/* One check of status: a verdict and one line saying why. */
enum check_verdict {
	CHECK_NA,	/* not applicable, or not known: JSON null */
	CHECK_FAILED,
	CHECK_OK,
};

struct check {
	const char *name;	/* stable, for scripts */
	enum check_verdict verdict;
	char detail[600];
};

/* Sets the verdict and the detail. */
void check_set(struct check *c, enum check_verdict verdict,
	       const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/*
 * Fails @c for one more reason: the first replaces the detail, later ones
 * are appended to it after "; ".
 */
void check_fail(struct check *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* @path below $CRASHKEY_SYSROOT (tests), into @buf. False if too long. */
bool kdump_sys_path(char buf[PATH_MAX], const char *path);

/* 1 if a crash kernel is loaded, 0 if not, -1 if unknown. */
int kdump_crash_loaded(void);

/*
 * The smallest crashkernel=, in MiB, that make bench's figures allow for
 * @volumes handed-over volumes on this arch; 0 where it has none.
 */
unsigned long long kdump_needed_mib(size_t volumes);
/* Whether enough memory is reserved for the crash kernel (crashkernel=). */
void kdump_check_reservation(struct check *c, size_t volumes);

/* crashkey's configuration, which its initramfs hook copies into the kdump initrd. */
#define CRASHKEY_DEFAULT	"/etc/default/crashkey"

/*
 * Whether kdump-tools' initrd for the running kernel is newer than each of
 * the @n files in @inputs (paths below the sysroot; a missing one is skipped).
 */
void kdump_check_initrd(struct check *c, const char *const *inputs, size_t n);

/* Whether kdump-tools, if installed, loads with kexec -s. */
void kdump_check_kexec_args(struct check *c);

#endif

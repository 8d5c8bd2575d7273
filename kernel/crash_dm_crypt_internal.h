/* SPDX-License-Identifier: GPL-2.0 */
/* Functions of kernel/crash_dm_crypt.c that its KUnit suite calls directly. */
#ifndef _KERNEL_CRASH_DM_CRYPT_INTERNAL_H
#define _KERNEL_CRASH_DM_CRYPT_INTERNAL_H

#include <kunit/visibility.h>
#include <linux/types.h>

#if IS_ENABLED(CONFIG_KUNIT)
bool crash_dm_crypt_name_valid(const char *name);
int crash_dm_crypt_random_start(unsigned long min, unsigned long max,
				unsigned long memsz, unsigned long *start);
#endif

#endif /* _KERNEL_CRASH_DM_CRYPT_INTERNAL_H */

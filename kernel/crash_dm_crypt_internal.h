/* SPDX-License-Identifier: GPL-2.0 */
/* Functions of kernel/crash_dm_crypt.c that its KUnit suite calls directly. */
#ifndef _KERNEL_CRASH_DM_CRYPT_INTERNAL_H
#define _KERNEL_CRASH_DM_CRYPT_INTERNAL_H

#include <kunit/visibility.h>
#include <linux/types.h>

/* Place a blob at @start if it fits there, else -EADDRNOTAVAIL. */
typedef int (*crash_dm_crypt_try_fn)(unsigned long start, void *arg);

#if IS_ENABLED(CONFIG_KUNIT)
bool crash_dm_crypt_name_valid(const char *name);
int crash_dm_crypt_place(unsigned long min, unsigned long max,
			 unsigned long memsz, crash_dm_crypt_try_fn try_at,
			 void *arg);
bool crash_dm_crypt_handover_valid(u64 addr, u64 size);
struct crash_dm_crypt_busy;
const char *crash_dm_crypt_handover_clash(u64 addr, u64 size,
					  const struct crash_dm_crypt_busy *busy,
					  unsigned int count);
void *crash_dm_crypt_map_handover(phys_addr_t addr, size_t size);
#endif

#endif /* _KERNEL_CRASH_DM_CRYPT_INTERNAL_H */

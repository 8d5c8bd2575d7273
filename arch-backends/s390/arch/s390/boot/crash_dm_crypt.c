// SPDX-License-Identifier: GPL-2.0
/*
 * kdump kernel, decompressor: keep the dm-crypt key blob alive until the
 * kernel proper takes it (arch/s390/kernel/crash_dm_crypt.c).
 *
 * The loading kernel named the blob in the parmarea by its offset in the old
 * crash region, which after the purgatory's swap is where it now lies. It can
 * be anywhere above the other segments, so it may be in the way of the
 * decompressed kernel, which is written without looking at reservations:
 * like the initrd, it is then moved first, and no copy is left behind.
 */
#include <linux/crash_key_blob.h>
#include <linux/kernel.h>
#include <linux/string.h>
#include <asm/physmem_info.h>
#include <asm/setup.h>
#include "boot.h"

void reserve_crash_key_handover(void)
{
	unsigned long start = parmarea.dm_crypt_keys_start;
	unsigned long size = parmarea.dm_crypt_keys_size;

	/* Nothing after this point needs to know where the blob came from. */
	parmarea.dm_crypt_keys_start = 0;
	parmarea.dm_crypt_keys_size = 0;
	if (!size || !parmarea.oldmem_size)
		return;
	if (!IS_ALIGNED(start, PAGE_SIZE) || !IS_ALIGNED(size, PAGE_SIZE) ||
	    size > ALIGN(CRASH_KEY_BLOB_MAX_LEN, PAGE_SIZE) ||
	    start + size < start || start + size > parmarea.oldmem_size) {
		boot_printk("crash_dm_crypt: malformed key blob location, ignored\n");
		return;
	}
	physmem_reserve(RR_CRASH_DM_CRYPT, start, size);
}

/* Zero what is left of [old, old + size) once it was moved to @new. */
static void wipe_moved_from(unsigned long old, unsigned long new,
			    unsigned long size)
{
	if (new + size <= old || old + size <= new)
		memset((void *)old, 0, size);
	else if (new < old)
		memset((void *)new + size, 0, old - new);
	else
		memset((void *)old, 0, new - old);
}

void rescue_crash_key_handover(unsigned long min, unsigned long max)
{
	unsigned long old, new, size;

	if (!get_physmem_reserved(RR_CRASH_DM_CRYPT, &old, &size))
		return;
	if (old >= min && old + size <= max)
		return;
	physmem_free(RR_CRASH_DM_CRYPT);
	new = physmem_alloc_top_down(RR_CRASH_DM_CRYPT, size, PAGE_SIZE);
	memmove((void *)new, (void *)old, size);
	wipe_moved_from(old, new, size);
}

// SPDX-License-Identifier: GPL-2.0
/*
 * s390 backend of the dm-crypt key hand-over (kernel/crash_dm_crypt.c).
 *
 * At crash time the purgatory (arch/s390/purgatory/head.S) exchanges the
 * crash region with [0, size) of memory, so the kdump kernel finds the blob
 * at its offset in the region; the loader writes that offset into the
 * kernel's parmarea, next to initrd_start, which is named the same way. Two
 * facts of the exchange bound where the blob may go:
 *
 *  - only segments covered by the purgatory digest are exchanged, walking
 *    purgatory_sha_regions in segment order on the assumption that their
 *    addresses ascend: the blob, added last, must lie above every other
 *    segment (below one, the gap before it would be a negative length);
 *  - the purgatory first copies itself over the top of [0, size), and the
 *    old contents there over the top of the region, then exchanges only what
 *    lies below: the blob must stay under the top purgatory-sized part.
 *
 * Between the two it goes to a random page like everywhere else; the
 * decompressor of the kdump kernel moves it if the kernel image needs the
 * room (arch/s390/boot/crash_dm_crypt.c).
 */
#define pr_fmt(fmt) "crash_dm_crypt: " fmt

#include <linux/crash_dm_crypt.h>
#include <linux/crash_reserve.h>
#include <linux/kexec.h>
#include <linux/memblock.h>
#include <asm/physmem_info.h>
#include <asm/set_memory.h>
#include <asm/setup.h>
#include <asm/crash_dm_crypt.h>

int arch_crash_dm_crypt_set_present(phys_addr_t addr, size_t size,
				    bool present)
{
	return __set_memory((unsigned long)__va(addr), size >> PAGE_SHIFT,
			    present ? SET_MEMORY_DEF : SET_MEMORY_INV);
}

static unsigned long purgatory_memsz(const struct kimage *image)
{
	unsigned long i;

	for (i = 0; i < image->nr_segments; i++)
		if (image->segment[i].kbuf == image->purgatory_info.purgatory_buf)
			return image->segment[i].memsz;
	return 0;
}

/* Loading kernel, after every other segment of a crash image was added. */
int crash_dm_crypt_add_keys(struct kimage *image, struct s390_load_data *data)
{
	unsigned long purgatory = purgatory_memsz(image);
	unsigned long min, max, start, end;
	int ret;

	/* Whatever the image file holds there, the kdump kernel must not use it. */
	data->parm->dm_crypt_keys_start = 0;
	data->parm->dm_crypt_keys_size = 0;
	if (!purgatory)
		return -EINVAL;
	min = crashk_res.start + ALIGN(data->memsz, PAGE_SIZE);
	max = crashk_res.end - purgatory;
	ret = crash_dm_crypt_load_keys(image, min, max);
	if (ret || !crash_dm_crypt_range(image, &start, &end))
		return ret;
	data->parm->dm_crypt_keys_start = start - crashk_res.start;
	data->parm->dm_crypt_keys_size = end - start + 1;
	return 0;
}

/* kdump kernel, setup_arch(): the decompressor found and kept the range. */
void __init crash_dm_crypt_reserve_keys(void)
{
	unsigned long addr, size;

	if (!get_physmem_reserved(RR_CRASH_DM_CRYPT, &addr, &size))
		return;
	if (crash_dm_crypt_set_handover(addr, size))
		memblock_reserve(addr, size);
}

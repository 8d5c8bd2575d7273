// SPDX-License-Identifier: GPL-2.0
/*
 * arm64 backend of the dm-crypt key hand-over (kernel/crash_dm_crypt.c).
 *
 * The location travels in the device tree (drivers/of/kexec.c, fdt.c). What
 * is left here is unmapping the blob's pages from the linear map, which works
 * only when that map is built from pages (rodata=full, the default, or
 * debug_pagealloc/KFENCE): with block mappings set_direct_map_*() would
 * silently do nothing, so refuse instead.
 */
#include <linux/crash_dm_crypt.h>
#include <linux/io.h>
#include <linux/mm.h>
#include <linux/set_memory.h>
#include <asm/tlbflush.h>

int arch_crash_dm_crypt_set_present(phys_addr_t addr, size_t size,
				    bool present)
{
	unsigned long va = (unsigned long)phys_to_virt(addr);
	unsigned long pfn = PHYS_PFN(addr), i;
	int ret;

	if (!can_set_direct_map())
		return -EOPNOTSUPP;
	for (i = 0; i < size >> PAGE_SHIFT; i++) {
		struct page *page = pfn_to_page(pfn + i);

		ret = present ? set_direct_map_default_noflush(page)
			      : set_direct_map_invalid_noflush(page);
		if (ret)
			return ret;
	}
	flush_tlb_kernel_range(va, va + size);
	return 0;
}

// SPDX-License-Identifier: GPL-2.0
/*
 * powerpc backend of the dm-crypt key hand-over (kernel/crash_dm_crypt.c).
 *
 * The location travels in the device tree (drivers/of/kexec.c, fdt.c). What
 * is left here is unmapping the blob's pages from the linear map. Only the
 * radix MMU can do that for single pages, and only because radix_init_pgtable()
 * maps the crash region page by page when CRASH_KEY_HANDOVER is set; the hash
 * MMU's bolted linear mapping cannot, so refuse there instead of leaving the
 * keys readable.
 */
#include <linux/crash_dm_crypt.h>
#include <linux/io.h>
#include <linux/mm.h>
#include <linux/set_memory.h>
#include <asm/mmu.h>

int arch_crash_dm_crypt_set_present(phys_addr_t addr, size_t size,
				    bool present)
{
	unsigned long va = (unsigned long)phys_to_virt(addr);
	int pages = size >> PAGE_SHIFT;

	if (!radix_enabled())
		return -EOPNOTSUPP;
	return present ? set_memory_p(va, pages) : set_memory_np(va, pages);
}

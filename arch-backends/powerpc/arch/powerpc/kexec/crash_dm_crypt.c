// SPDX-License-Identifier: GPL-2.0
/*
 * powerpc backend of the dm-crypt key hand-over (kernel/crash_dm_crypt.c).
 *
 * The location travels in the device tree (drivers/of/kexec.c, fdt.c). What
 * is left here is taking the blob's pages out of the linear map and putting
 * them back. Both MMUs can do it page by page because the crash region is
 * mapped with base pages when CRASH_KEY_HANDOVER is set: radix_init_pgtable()
 * maps it so, and the hash MMU then bolts the whole linear map with base
 * pages (htab_init_page_sizes()), whose entries come and go one by one.
 */
#include <linux/crash_dm_crypt.h>
#include <linux/io.h>
#include <linux/mm.h>
#include <linux/set_memory.h>
#include <asm/mmu.h>

#ifdef CONFIG_PPC_64S_HASH_MMU
/*
 * Making pages present bolts them again. A page whose entry is still there
 * must not get a second one (two matching entries are undefined behaviour),
 * so every entry of the range goes first: this also makes both directions
 * safe to repeat, as set_memory_p()/np() are.
 */
static int hash_set_present(unsigned long va, phys_addr_t addr, size_t size,
			    bool present)
{
	int ret;

	if (mmu_psize_defs[mmu_linear_psize].shift != PAGE_SHIFT)
		return -EOPNOTSUPP;
	ret = htab_remove_mapping(va, va + size, mmu_linear_psize,
				  mmu_kernel_ssize);
	if (ret && ret != -ENOENT)
		return ret;
	if (!present)
		return 0;
	if (htab_bolt_mapping(va, va + size, addr, pgprot_val(PAGE_KERNEL),
			      mmu_linear_psize, mmu_kernel_ssize))
		return -ENOMEM;
	return 0;
}
#else
static int hash_set_present(unsigned long va, phys_addr_t addr, size_t size,
			    bool present)
{
	return -EOPNOTSUPP;
}
#endif

int arch_crash_dm_crypt_set_present(phys_addr_t addr, size_t size,
				    bool present)
{
	unsigned long va = (unsigned long)phys_to_virt(addr);
	int pages = size >> PAGE_SHIFT;

	if (!radix_enabled())
		return hash_set_present(va, addr, size, present);
	return present ? set_memory_p(va, pages) : set_memory_np(va, pages);
}

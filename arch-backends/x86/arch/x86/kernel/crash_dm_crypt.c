// SPDX-License-Identifier: GPL-2.0
/*
 * x86 backend of the dm-crypt key hand-over (kernel/crash_dm_crypt.c).
 *
 * The kdump kernel learns where the key blob is from a setup_data node of
 * type SETUP_CRASH_DM_CRYPT. The loading kernel also leaves the blob out of
 * the kdump kernel's e820 RAM (arch/x86/kernel/crash.c), so neither the
 * decompressor's physical KASLR nor any allocator there can land on it: a
 * range merely pointed to by setup_data is not avoided by the decompressor.
 */
#define pr_fmt(fmt) "crash_dm_crypt: " fmt

#include <linux/cc_platform.h>
#include <linux/crash_dm_crypt.h>
#include <linux/init.h>
#include <linux/io.h>
#include <linux/kexec.h>
#include <linux/kstrtox.h>
#include <linux/memblock.h>
#include <linux/mm.h>
#include <linux/string.h>
#include <asm/bootparam.h>
#include <asm/crash_dm_crypt.h>
#include <asm/early_ioremap.h>
#include <asm/set_memory.h>
#include <asm/setup.h>

int arch_crash_dm_crypt_set_present(phys_addr_t addr, size_t size,
				    bool present)
{
	unsigned long va = (unsigned long)phys_to_virt(addr);
	int pages = size >> PAGE_SHIFT;

	return present ? set_memory_p(va, pages) : set_memory_np(va, pages);
}

/*
 * kdump kernel: the old kernel wrote the blob through its encrypted linear
 * map (SME, SEV, TDX). The range is not RAM here, so memremap() would map it
 * decrypted and read ciphertext; map it the way /proc/vmcore reads old
 * memory under encryption instead.
 */
void *arch_crash_dm_crypt_map_handover(phys_addr_t addr, size_t size)
{
	if (cc_platform_has(CC_ATTR_MEM_ENCRYPT))
		return (void __force *)ioremap_encrypted(addr, size);
	return memremap(addr, size, MEMREMAP_WB);
}

/* Running kernel: chain a node describing @image's blob into @params. */
void crash_dm_crypt_add_setup_data(const struct kimage *image,
				   struct boot_params *params,
				   unsigned long params_load_addr,
				   unsigned int offset)
{
	struct setup_data *sd = (void *)params + offset;
	struct crash_dm_crypt_setup_data *keys = (void *)sd->data;

	if (!image->crash_keys_sz)
		return;
	sd->type = SETUP_CRASH_DM_CRYPT;
	sd->len = sizeof(*keys);
	keys->addr = image->crash_keys_addr;
	keys->size = image->crash_keys_sz;
	sd->next = params->hdr.setup_data;
	params->hdr.setup_data = params_load_addr + offset;
}

/* The initrd, which x86 keeps in boot_params rather than phys_initrd_start. */
unsigned int __init arch_crash_dm_crypt_busy(struct crash_dm_crypt_busy *busy,
					     unsigned int max)
{
	u64 start = boot_params.hdr.ramdisk_image |
		    (u64)boot_params.ext_ramdisk_image << 32;
	u64 size = boot_params.hdr.ramdisk_size |
		   (u64)boot_params.ext_ramdisk_size << 32;

	if (!max || !start || !size)
		return 0;
	busy[0] = (struct crash_dm_crypt_busy){ start, size, "the initrd" };
	return 1;
}

/*
 * kdump kernel, from parse_setup_data(): take the range, then zero the node's
 * payload so that /sys/kernel/boot_params/setup_data shows no address.
 */
void __init crash_dm_crypt_parse_setup_data(u64 pa_data, u32 data_len)
{
	struct crash_dm_crypt_setup_data *keys;
	struct setup_data *sd;
	u64 addr, size;

	if (data_len < CRASH_DM_CRYPT_SETUP_DATA_SIZE) {
		pr_err("key blob setup_data too short, ignored\n");
		return;
	}
	sd = early_memremap(pa_data, data_len);
	if (!sd)
		return;
	keys = (void *)sd->data;
	addr = keys->addr;
	size = keys->size;
	memzero_explicit(keys, sizeof(*keys));
	early_memunmap(sd, data_len);

	if (crash_dm_crypt_set_handover(addr, size))
		memblock_reserve(addr, size);
}

/*
 * Mainline's x86 hand-over (dmcryptkeys=<address>): another format, never read
 * as ours. Its pages stay out of the allocators until the core wipes them.
 */
static int __init mainline_handover_param(char *arg)
{
	u64 addr;

	if (!arg || kstrtoull(arg, 0, &addr))
		return 0;
	if (crash_dm_crypt_mainline_handover(addr, 0, "dmcryptkeys="))
		memblock_reserve(addr,
				 PAGE_ALIGN(CRASH_DM_CRYPT_MAINLINE_MAX_LEN));
	return 0;
}
early_param("dmcryptkeys", mainline_handover_param);

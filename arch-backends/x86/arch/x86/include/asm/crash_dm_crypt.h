/* SPDX-License-Identifier: GPL-2.0 */
/* x86 backend of the dm-crypt key hand-over, see arch/x86/kernel/crash_dm_crypt.c */
#ifndef _ASM_X86_CRASH_DM_CRYPT_H
#define _ASM_X86_CRASH_DM_CRYPT_H

#include <linux/types.h>
#include <asm/bootparam.h>

struct boot_params;
struct kimage;

#ifdef CONFIG_CRASH_KEY_HANDOVER
#define CRASH_DM_CRYPT_SETUP_DATA_SIZE \
	(sizeof(struct setup_data) + sizeof(struct crash_dm_crypt_setup_data))

void crash_dm_crypt_add_setup_data(const struct kimage *image,
				   struct boot_params *params,
				   unsigned long params_load_addr,
				   unsigned int offset);
void crash_dm_crypt_parse_setup_data(u64 pa_data, u32 data_len);
#else
#define CRASH_DM_CRYPT_SETUP_DATA_SIZE	0

static inline void crash_dm_crypt_add_setup_data(const struct kimage *image,
						 struct boot_params *params,
						 unsigned long params_load_addr,
						 unsigned int offset) { }
static inline void crash_dm_crypt_parse_setup_data(u64 pa_data, u32 data_len) { }
#endif

#endif /* _ASM_X86_CRASH_DM_CRYPT_H */

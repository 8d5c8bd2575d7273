/* SPDX-License-Identifier: GPL-2.0 */
/* s390 backend of the dm-crypt key hand-over, see arch/s390/kernel/crash_dm_crypt.c */
#ifndef _ASM_S390_CRASH_DM_CRYPT_H
#define _ASM_S390_CRASH_DM_CRYPT_H

struct kimage;
struct s390_load_data;

#ifdef CONFIG_CRASH_KEY_HANDOVER
int crash_dm_crypt_add_keys(struct kimage *image, struct s390_load_data *data);
void crash_dm_crypt_reserve_keys(void);
#else
static inline int crash_dm_crypt_add_keys(struct kimage *image,
					  struct s390_load_data *data)
{
	return 0;
}

static inline void crash_dm_crypt_reserve_keys(void) { }
#endif

#endif /* _ASM_S390_CRASH_DM_CRYPT_H */

/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Hand-over of dm-crypt volume keys to the kdump kernel.
 *
 * The core (kernel/crash_dm_crypt.c) knows nothing about architectures. An
 * architecture that selects ARCH_SUPPORTS_CRASH_KEY_HANDOVER provides the three
 * things only it can do:
 *
 *  1. its kexec_file loader calls crash_dm_crypt_load_keys() for a crash
 *     image and tells the kdump kernel where the blob went
 *     (crash_dm_crypt_range() gives the location);
 *  2. early in the kdump kernel it finds that range, hands it to
 *     crash_dm_crypt_set_handover(), which checks it, keeps every allocator
 *     away from it if that says so, and hides the pointer from userspace;
 *  3. arch_crash_dm_crypt_set_present() maps or unmaps the blob's pages in
 *     the kernel's own linear mapping of the running kernel; either way
 *     twice in a row is the same as once.
 *
 * Optional: arch_crash_dm_crypt_busy() names ranges of the boot that only the
 * architecture knows at the time of step 2 (x86's initrd), and an
 * architecture whose kdump kernel may receive mainline's own hand-over reports
 * it with crash_dm_crypt_mainline_handover() (the device-tree code and x86 do).
 */
#ifndef _LINUX_CRASH_DM_CRYPT_H
#define _LINUX_CRASH_DM_CRYPT_H

#include <linux/types.h>

struct kimage;

#ifdef CONFIG_CRASH_KEY_HANDOVER
/* kexec_load/kexec_file_load, kexec lock held, crash images only. */
int crash_dm_crypt_begin_load(void);
void crash_dm_crypt_end_load(struct kimage *failed);
/* kexec_file_load, before the image is installed. */
int crash_dm_crypt_hide_keys(struct kimage *image);
/* Handed-over keys wait in the crash region (crash_shrink_memory()). */
bool crash_dm_crypt_keys_kept(void);
/* Crash hot-plug: this segment is not present, do not look into it. */
bool crash_dm_crypt_is_keys_segment(const struct kimage *image,
				    unsigned int index);

/* Arch loader: add the key blob as a segment at a random page in [min, max]. */
int crash_dm_crypt_load_keys(struct kimage *image, unsigned long min,
			     unsigned long max);
bool crash_dm_crypt_range(const struct kimage *image, unsigned long *start,
			  unsigned long *end);

/* Arch early boot code of the kdump kernel: reserve the range if true. */
bool crash_dm_crypt_set_handover(u64 addr, u64 size);

/*
 * Arch early boot code: a hand-over in mainline Linux's own format
 * (Linux 6.16+), named by @where. Never read as ours; wiped at late_initcall.
 * @size 0: as large as mainline's format can be, read from its header then.
 * Reserve the range if true.
 */
bool crash_dm_crypt_mainline_handover(u64 addr, u64 size, const char *where);

/* Mainline's largest blob: a count, then 128 entries of 388 bytes. */
#define CRASH_DM_CRYPT_MAINLINE_MAX_LEN	(4 + 128 * 388)

/* A range the boot uses, which a hand-over must not overlap. */
struct crash_dm_crypt_busy {
	u64 start;
	u64 size;
	const char *what;
};

/*
 * Optional: ranges only the architecture knows of at the time it calls
 * crash_dm_crypt_set_handover(), at most @max of them; returns how many.
 */
unsigned int arch_crash_dm_crypt_busy(struct crash_dm_crypt_busy *busy,
				      unsigned int max);

/* Arch backend. */
int arch_crash_dm_crypt_set_present(phys_addr_t addr, size_t size,
				    bool present);

/*
 * With ARCH_HAS_CRASH_KEY_HANDOVER_MAP (memory encryption): the kdump kernel's
 * mapping of the handed-over blob, undone by memunmap(). Else memremap().
 */
void *arch_crash_dm_crypt_map_handover(phys_addr_t addr, size_t size);
#else
static inline int crash_dm_crypt_begin_load(void)
{
	return 0;
}

static inline void crash_dm_crypt_end_load(struct kimage *failed) { }

static inline int crash_dm_crypt_hide_keys(struct kimage *image)
{
	return 0;
}

static inline bool crash_dm_crypt_keys_kept(void)
{
	return false;
}

static inline bool crash_dm_crypt_is_keys_segment(const struct kimage *image,
						  unsigned int index)
{
	return false;
}

static inline int crash_dm_crypt_load_keys(struct kimage *image,
					   unsigned long min,
					   unsigned long max)
{
	return 0;
}

static inline bool crash_dm_crypt_range(const struct kimage *image,
					unsigned long *start,
					unsigned long *end)
{
	return false;
}

static inline bool crash_dm_crypt_set_handover(u64 addr, u64 size)
{
	return false;
}

static inline bool crash_dm_crypt_mainline_handover(u64 addr, u64 size,
						    const char *where)
{
	return false;
}
#endif

#endif /* _LINUX_CRASH_DM_CRYPT_H */

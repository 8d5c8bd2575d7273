/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Host shim for <linux/types.h>: the uapi header supplies __u8..__u64 and
 * __le16/__le32; the kernel-internal short names and size_t are added here.
 */
#ifndef CRASHKEY_SHIM_LINUX_TYPES_H
#define CRASHKEY_SHIM_LINUX_TYPES_H

#include_next <linux/types.h>
#include <stdbool.h>
#include <stddef.h>

typedef __u8 u8;
typedef __u16 u16;
typedef __u32 u32;
typedef __u64 u64;

#endif

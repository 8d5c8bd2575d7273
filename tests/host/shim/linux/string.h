/* SPDX-License-Identifier: GPL-2.0 */
/* Host shim for <linux/string.h>: libc string functions + memzero_explicit. */
#ifndef CRASHKEY_SHIM_LINUX_STRING_H
#define CRASHKEY_SHIM_LINUX_STRING_H

#include <string.h>

static inline void memzero_explicit(void *s, size_t count)
{
	explicit_bzero(s, count);
}

#endif

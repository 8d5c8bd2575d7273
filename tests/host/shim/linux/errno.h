/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Host shim for <linux/errno.h>: the uapi header has the kernel's values.
 * It must stay an #include_next, because glibc's <errno.h> itself includes
 * <linux/errno.h> and so reaches this file.
 */
#ifndef CRASHKEY_SHIM_LINUX_ERRNO_H
#define CRASHKEY_SHIM_LINUX_ERRNO_H

#include_next <linux/errno.h>

#endif

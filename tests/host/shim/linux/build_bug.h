/* SPDX-License-Identifier: GPL-2.0 */
/* Host shim for <linux/build_bug.h>: the kernel's static_assert(expr[, msg]). */
#ifndef CRASHKEY_SHIM_LINUX_BUILD_BUG_H
#define CRASHKEY_SHIM_LINUX_BUILD_BUG_H

#define static_assert(expr, ...) __static_assert(expr, ##__VA_ARGS__, #expr)
#define __static_assert(expr, msg, ...) _Static_assert(expr, msg)

#endif

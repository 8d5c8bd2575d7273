/* SPDX-License-Identifier: GPL-2.0 */
/* One hex digit's value, for the test programs that read keys and vectors in hex. */
#ifndef CRASHKEY_TESTS_HEX_H
#define CRASHKEY_TESTS_HEX_H

/* 0..15, or -1 if @c is not a hex digit. */
static inline int hex_value(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

#endif

/* SPDX-License-Identifier: GPL-2.0 */
/* Host shim for <crypto/sha2.h>: the one-shot sha256() on top of libcrypto. */
#ifndef CRASHKEY_SHIM_CRYPTO_SHA2_H
#define CRASHKEY_SHIM_CRYPTO_SHA2_H

#include <linux/types.h>
#include <openssl/sha.h>

#define SHA256_DIGEST_SIZE 32

static inline void sha256(const u8 *data, size_t len,
			  u8 out[SHA256_DIGEST_SIZE])
{
	SHA256(data, len, out);
}

#endif

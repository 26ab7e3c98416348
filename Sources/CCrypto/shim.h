#ifndef SESSIONGATE_CCRYPTO_SHIM_H
#define SESSIONGATE_CCRYPTO_SHIM_H
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

/// SHA-256 in one call on a stack context. OpenSSL 3 deprecates the low-level SHA256_* functions in favour of EVP,
/// but EVP allocates and frees a context on every digest, which costs about half as much again as hashing a session
/// token; the low-level functions are still OpenSSL's own implementation, so only the deprecation is silenced.
static inline void sessiongate_sha256(const unsigned char *data, size_t length, unsigned char *out) {
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
    SHA256_CTX context;
    SHA256_Init(&context);
    SHA256_Update(&context, data, length);
    SHA256_Final(out, &context);
    OPENSSL_cleanse(&context, sizeof(context));
#pragma GCC diagnostic pop
}
#endif

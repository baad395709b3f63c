#pragma once
// Cryptographically secure random identifiers (libsodium's randombytes).

#include <string>

namespace bsocial {

/// Calls sodium_init(); safe to call many times. Throws when libsodium cannot start.
void init_crypto();

/// Random UUID version 4, lower-case canonical form.
std::string new_uuid_v4();

/// `bytes` random bytes as lower-case hex.
std::string random_hex(std::size_t bytes);

}  // namespace bsocial

#pragma once
// Tokens whose signature and claims were verified, remembered so a request does not
// compute the HMAC and parse the token's JSON again (issue 26: ~3% of a warm feed request,
// plus the two JSON parses). Keyed by the token itself: an entry is found by a hash of the
// token and taken only when the whole token compares equal in constant time
// (CRYPTO_memcmp), so a near miss takes as long as a far one. Only tokens that verified
// are kept, so a forged token is never found; its expiry is checked again at every hit
// (a remembered token stops verifying at its "exp" as a fresh check would). Whether the
// session was revoked is not this cache's business: sessions::session_service checks it
// after every verification, hit or not. Bounded: `max_tokens` at most, in 16 shards each
// with a mutex held for a lookup; a full shard drops an arbitrary entry. Thread-safe.

#include <array>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "bsocial/auth/jwt.hpp"

namespace bsocial::auth {

class verified_tokens {
  public:
    static constexpr std::size_t default_max_tokens = 65536;

    explicit verified_tokens(std::size_t max_tokens = default_max_tokens);

    /// The claims of `token` when it was verified before and `now` (seconds) is before its
    /// expiry; nullopt otherwise.
    std::optional<token_claims> find(std::string_view token, std::int64_t now) const;
    /// `token` just verified with these claims.
    void put(std::string_view token, const token_claims& claims);

    std::size_t size() const;

  private:
    struct entry {
        std::string token;
        token_claims claims;
    };
    struct shard {
        mutable std::mutex mutex;
        std::unordered_map<std::uint64_t, entry> by_hash;
    };
    static constexpr std::size_t shard_count = 16;
    std::size_t per_shard_;
    std::array<shard, shard_count> shards_;
};

}  // namespace bsocial::auth

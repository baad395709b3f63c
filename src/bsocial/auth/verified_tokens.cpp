#include "bsocial/auth/verified_tokens.hpp"

#include <openssl/crypto.h>

#include <algorithm>
#include <functional>

namespace bsocial::auth {

verified_tokens::verified_tokens(std::size_t max_tokens)
    : per_shard_(std::max<std::size_t>(1, max_tokens / shard_count)) {}

namespace {
std::uint64_t hash_of(std::string_view token) { return std::hash<std::string_view>{}(token); }
}  // namespace

std::optional<token_claims> verified_tokens::find(std::string_view token, std::int64_t now) const {
    const std::uint64_t h = hash_of(token);
    const shard& s = shards_[h % shard_count];
    std::lock_guard lock(s.mutex);
    const auto it = s.by_hash.find(h);
    if (it == s.by_hash.end()) return std::nullopt;
    const entry& e = it->second;
    if (e.token.size() != token.size() ||
        CRYPTO_memcmp(e.token.data(), token.data(), token.size()) != 0)
        return std::nullopt;
    if (now >= e.claims.expires_at) return std::nullopt;  // as verify() decides
    return e.claims;
}

void verified_tokens::put(std::string_view token, const token_claims& claims) {
    const std::uint64_t h = hash_of(token);
    shard& s = shards_[h % shard_count];
    std::lock_guard lock(s.mutex);
    auto it = s.by_hash.find(h);
    if (it == s.by_hash.end()) {
        if (s.by_hash.size() >= per_shard_) s.by_hash.erase(s.by_hash.begin());
        s.by_hash.emplace(h, entry{std::string(token), claims});
    } else {  // another token with the same hash: the newer one wins
        it->second = entry{std::string(token), claims};
    }
}

std::size_t verified_tokens::size() const {
    std::size_t n = 0;
    for (const shard& s : shards_) {
        std::lock_guard lock(s.mutex);
        n += s.by_hash.size();
    }
    return n;
}

}  // namespace bsocial::auth

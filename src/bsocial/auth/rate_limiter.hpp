#pragma once
// A token bucket per key (the client address): `per_minute` actions per minute on average,
// bursts of up to `burst`. Used to limit registrations per address (docs/security.md,
// item 1). Memory is bounded: at most `capacity` keys, the least recently used is
// forgotten first (it then starts again with a full bucket). Thread-safe.

#include <cstddef>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>

#include "bsocial/core/clock.hpp"
#include "bsocial/core/lru_map.hpp"

namespace bsocial::auth {

class rate_limiter {
  public:
    static constexpr std::size_t default_capacity = 65536;

    /// per_minute <= 0 turns the limit off.
    rate_limiter(const clock& clock, int per_minute, int burst,
                 std::size_t capacity = default_capacity);

    /// Takes one token for `key`: nullopt when allowed, else the seconds until a token is
    /// available again.
    std::optional<std::int64_t> try_take(const std::string& key);

    std::size_t size() const;

  private:
    struct bucket {
        double tokens;
        std::int64_t updated_ms;
    };

    const clock& clock_;
    double per_ms_;
    double burst_;
    mutable std::mutex mutex_;
    lru_map<std::string, bucket> buckets_;  ///< by key
};

}  // namespace bsocial::auth

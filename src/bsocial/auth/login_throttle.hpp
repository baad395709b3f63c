#pragma once
// Failed-login limiting: a sliding window of failures per key
// (the account once it is known, else the login identifier; and separately the client
// address). In memory, per API instance: the limit is per instance, written down in
// docs/architecture.md. Memory is bounded (docs/security.md, item 2): at most `capacity`
// keys, the least recently used one is forgotten first; keys longer than
// max_stored_key_length are stored as their BLAKE2b digest; each key keeps at most
// `max_failures` timestamps. Thread-safe.

#include <cstddef>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "bsocial/core/clock.hpp"
#include "bsocial/core/lru_map.hpp"

namespace bsocial::auth {

class login_throttle {
  public:
    static constexpr std::size_t default_capacity = 65536;
    static constexpr std::size_t max_stored_key_length = 64;

    login_throttle(const clock& clock, int max_failures, std::int64_t window_seconds,
                   std::size_t capacity = default_capacity);

    /// Seconds to wait if `key` is locked out now, else nullopt.
    std::optional<std::int64_t> locked_for(const std::string& key);
    void record_failure(const std::string& key);
    void clear(const std::string& key);

    /// Check and reserve in one step, BEFORE the password is verified: when `key` is not
    /// locked, an attempt is counted at once as a failure (so parallel guesses cannot all
    /// pass the check) and nullopt is returned; else the seconds to wait. Afterwards call
    /// clear() on success, nothing on a wrong password, or cancel() when the attempt was
    /// not made (e.g. the hashing pool was full).
    std::optional<std::int64_t> try_begin(const std::string& key);
    /// Takes back the attempt the last try_begin(key) counted.
    void cancel(const std::string& key);

    /// Keys held now (never more than the capacity).
    std::size_t size() const;
    std::size_t capacity() const { return failures_.capacity(); }

  private:
    std::string stored_key(const std::string& key) const;
    /// The failures of `skey`, created (evicting the least recently used key when full).
    /// Caller holds mutex_.
    std::vector<std::int64_t>& failures_of(const std::string& skey);
    void prune(std::vector<std::int64_t>& failures, std::int64_t now) const;
    std::optional<std::int64_t> wait_of(const std::vector<std::int64_t>& failures,
                                        std::int64_t now) const;

    const clock& clock_;
    int max_failures_;
    std::int64_t window_ms_;
    mutable std::mutex mutex_;
    /// Failure times per stored key, oldest first, at most max_failures_ each.
    lru_map<std::string, std::vector<std::int64_t>> failures_;
};

}  // namespace bsocial::auth

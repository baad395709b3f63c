#pragma once
// Failed-login limits that slow an attacker without locking the owner out (issue 24,
// item 2; docs/security.md, "Lockout without denial of service"). Three budgets, each over
// the login window:
//
//   - per client address: `4 x max_failures` failures, then 429 for that address only;
//   - per (identifier, address): `max_failures` failures, then 429 for that pair only. An
//     attacker's failures from one address never refuse the owner at another;
//   - per identifier (the account, or an unknown login), from every address together: a
//     much higher `identifier_ceiling`. Beyond it the identifier is slowed, never locked:
//     addresses that have not logged in to it successfully get one attempt per
//     `slow_seconds` between them (429 with a Retry-After of at most that), while an
//     address the account logged in from before (its owner's own) is not slowed at all.
//
// Every budget is checked and the attempt counted in one step before the password is
// verified (parallel guesses cannot pass a limit); a success or an attempt that was not
// made (503) takes its counts back. In memory, per API instance; every map holds at most
// `capacity` keys, least recently used forgotten first. Thread-safe.

#include <cstddef>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>

#include "bsocial/auth/login_throttle.hpp"
#include "bsocial/core/clock.hpp"
#include "bsocial/core/lru_map.hpp"

namespace bsocial::auth {

class login_guard {
  public:
    struct options {
        int max_failures = 5;  ///< per (identifier, address); 4x per address
        std::int64_t window_seconds = 900;
        std::size_t capacity = login_throttle::default_capacity;
        /// Failed logins per identifier (all addresses) beyond which addresses it never
        /// logged in from are slowed to one attempt per `slow_seconds` (never locked).
        int identifier_ceiling = 100;
        int slow_seconds = 2;
        /// An address the account logged in from counts as the owner's this long.
        std::int64_t known_address_seconds = 30 * 86400;
    };

    login_guard(const clock& clock, options o);

    /// Before anything else (no SQL yet): the address's budget. nullopt: go on, the attempt
    /// is counted; else the seconds to wait (nothing counted).
    std::optional<std::int64_t> begin_address(const std::string& address);
    /// Takes back what begin_address counted (the attempt ended before the identifier).
    void cancel_address(const std::string& address);

    /// Once the identifier is known (`account:<id>` or `login:<identifier>`): the pair's
    /// budget, then the identifier's ceiling. nullopt: go on, the attempt is counted on
    /// both; else the seconds to wait, and what begin_address counted is taken back.
    std::optional<std::int64_t> begin_identifier(const std::string& identifier,
                                                 const std::string& address);

    /// The password was right: the pair's failures are cleared, this attempt is not a
    /// failure of the address or the identifier, and the address is the owner's from now.
    void succeeded(const std::string& identifier, const std::string& address);
    /// The attempt was not made (e.g. the hashing pool was full): every count taken back.
    /// A wrong password needs no call: the begin_* calls counted it.
    void cancel(const std::string& identifier, const std::string& address);

  private:
    struct identifier_state {
        std::int64_t window_start_ms = 0;  ///< failures are counted in a fixed window
        int failures = 0;
        std::int64_t last_admitted_ms = 0;  ///< the last attempt let through to the password
    };
    static std::string pair_key(const std::string& identifier, const std::string& address);

    const clock& clock_;
    options options_;
    std::int64_t window_ms_;
    login_throttle per_address_;
    login_throttle per_pair_;
    std::mutex mutex_;
    lru_map<std::string, identifier_state> identifiers_;  ///< guarded by mutex_
    lru_map<std::string, std::int64_t> known_;  ///< pair -> last success (ms); mutex_
};

}  // namespace bsocial::auth

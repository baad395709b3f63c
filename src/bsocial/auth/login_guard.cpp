#include "bsocial/auth/login_guard.hpp"

#include <algorithm>
#include <stdexcept>

namespace bsocial::auth {

login_guard::login_guard(const clock& clock, options o)
    : clock_(clock),
      options_(o),
      window_ms_(o.window_seconds * 1000),
      per_address_(clock, 4 * o.max_failures, o.window_seconds, o.capacity),
      per_pair_(clock, o.max_failures, o.window_seconds, o.capacity),
      identifiers_(o.capacity),
      known_(o.capacity) {}

std::string login_guard::pair_key(const std::string& identifier, const std::string& address) {
    // The address (never holding "|") is last, so no two pairs share a key.
    return identifier + "|" + address;
}

std::optional<std::int64_t> login_guard::begin_address(const std::string& address) {
    return per_address_.try_begin(address);
}

void login_guard::cancel_address(const std::string& address) { per_address_.cancel(address); }

std::optional<std::int64_t> login_guard::begin_identifier(const std::string& identifier,
                                                          const std::string& address) {
    const std::string pair = pair_key(identifier, address);
    if (auto wait = per_pair_.try_begin(pair)) {
        per_address_.cancel(address);
        return wait;
    }
    const std::int64_t now = clock_.now_ms();
    std::lock_guard lock(mutex_);
    auto& state = *identifiers_.try_emplace(identifier).first;
    if (now - state.window_start_ms >= window_ms_) {
        state.window_start_ms = now;
        state.failures = 0;
    }
    if (state.failures >= options_.identifier_ceiling) {
        // Slowed: the owner's own address passes; any other waits its turn.
        const auto* known = known_.peek(pair);
        const bool owners = known && now - *known < options_.known_address_seconds * 1000;
        const std::int64_t slow_ms = std::int64_t{options_.slow_seconds} * 1000;
        if (!owners && now - state.last_admitted_ms < slow_ms) {
            per_pair_.cancel(pair);
            per_address_.cancel(address);
            return std::max<std::int64_t>(1, (state.last_admitted_ms + slow_ms - now + 999) / 1000);
        }
    }
    ++state.failures;
    state.last_admitted_ms = now;
    return std::nullopt;
}

void login_guard::succeeded(const std::string& identifier, const std::string& address) {
    const std::string pair = pair_key(identifier, address);
    per_pair_.clear(pair);
    per_address_.cancel(address);
    const std::int64_t now = clock_.now_ms();
    std::lock_guard lock(mutex_);
    if (auto* state = identifiers_.peek(identifier); state && state->failures > 0)
        --state->failures;
    *known_.try_emplace(pair).first = now;
}

void login_guard::cancel(const std::string& identifier, const std::string& address) {
    per_pair_.cancel(pair_key(identifier, address));
    per_address_.cancel(address);
    std::lock_guard lock(mutex_);
    if (auto* state = identifiers_.peek(identifier); state && state->failures > 0)
        --state->failures;
}

}  // namespace bsocial::auth

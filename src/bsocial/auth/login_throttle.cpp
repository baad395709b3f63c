#include "bsocial/auth/login_throttle.hpp"

#include <sodium.h>

#include <algorithm>

namespace bsocial::auth {

login_throttle::login_throttle(const clock& clock, int max_failures, std::int64_t window_seconds,
                               std::size_t capacity)
    : clock_(clock),
      max_failures_(std::max(1, max_failures)),
      window_ms_(window_seconds * 1000),
      failures_(capacity) {}

std::string login_throttle::stored_key(const std::string& key) const {
    if (key.size() <= max_stored_key_length) return key;
    // A long key costs its digest only; "#" cannot start a login or an address.
    unsigned char digest[16];
    crypto_generichash(digest, sizeof digest, reinterpret_cast<const unsigned char*>(key.data()),
                       key.size(), nullptr, 0);
    char hex[2 * sizeof digest + 1];
    sodium_bin2hex(hex, sizeof hex, digest, sizeof digest);
    return std::string("#") + hex;
}

std::vector<std::int64_t>& login_throttle::failures_of(const std::string& skey) {
    auto [failures, added] = failures_.try_emplace(skey);
    if (added) failures->reserve(static_cast<std::size_t>(max_failures_) + 1);
    return *failures;
}

void login_throttle::prune(std::vector<std::int64_t>& failures, std::int64_t now) const {
    const auto first_kept = std::find_if(failures.begin(), failures.end(),
                                         [&](std::int64_t t) { return t > now - window_ms_; });
    failures.erase(failures.begin(), first_kept);
}

std::optional<std::int64_t> login_throttle::wait_of(const std::vector<std::int64_t>& failures,
                                                    std::int64_t now) const {
    if (static_cast<int>(failures.size()) < max_failures_) return std::nullopt;
    // Locked until the oldest failure that keeps us at the limit leaves the window.
    const std::int64_t unlock_at =
        failures[failures.size() - static_cast<std::size_t>(max_failures_)] + window_ms_;
    return std::max<std::int64_t>(1, (unlock_at - now + 999) / 1000);
}

std::optional<std::int64_t> login_throttle::locked_for(const std::string& key) {
    const std::int64_t now = clock_.now_ms();
    const std::string skey = stored_key(key);
    std::lock_guard lock(mutex_);
    auto* failures = failures_.find(skey);
    if (!failures) return std::nullopt;
    prune(*failures, now);
    return wait_of(*failures, now);
}

void login_throttle::record_failure(const std::string& key) {
    const std::int64_t now = clock_.now_ms();
    const std::string skey = stored_key(key);
    std::lock_guard lock(mutex_);
    auto& failures = failures_of(skey);
    prune(failures, now);
    failures.push_back(now);
    // Bound memory per key: older entries beyond the limit never matter.
    if (static_cast<int>(failures.size()) > max_failures_)
        failures.erase(failures.begin(),
                       failures.end() - static_cast<std::ptrdiff_t>(max_failures_));
}

std::optional<std::int64_t> login_throttle::try_begin(const std::string& key) {
    const std::int64_t now = clock_.now_ms();
    const std::string skey = stored_key(key);
    std::lock_guard lock(mutex_);
    auto& failures = failures_of(skey);
    prune(failures, now);
    if (auto wait = wait_of(failures, now)) return wait;
    failures.push_back(now);
    return std::nullopt;
}

void login_throttle::cancel(const std::string& key) {
    const std::string skey = stored_key(key);
    std::lock_guard lock(mutex_);
    if (auto* failures = failures_.find(skey); failures && !failures->empty())
        failures->pop_back();
}

void login_throttle::clear(const std::string& key) {
    const std::string skey = stored_key(key);
    std::lock_guard lock(mutex_);
    failures_.erase(skey);
}

std::size_t login_throttle::size() const {
    std::lock_guard lock(mutex_);
    return failures_.size();
}

}  // namespace bsocial::auth

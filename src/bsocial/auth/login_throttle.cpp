#include "bsocial/auth/login_throttle.hpp"

#include <sodium.h>

#include <algorithm>

namespace bsocial::auth {

login_throttle::login_throttle(const clock& clock, int max_failures, std::int64_t window_seconds,
                               std::size_t capacity)
    : clock_(clock),
      max_failures_(std::max(1, max_failures)),
      window_ms_(window_seconds * 1000),
      capacity_(std::max<std::size_t>(1, capacity)) {}

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

login_throttle::entry* login_throttle::find(const std::string& skey) {
    const auto it = index_.find(skey);
    if (it == index_.end()) return nullptr;
    entries_.splice(entries_.begin(), entries_, it->second);
    return &*it->second;
}

login_throttle::entry& login_throttle::find_or_add(const std::string& skey) {
    if (entry* e = find(skey)) return *e;
    if (index_.size() >= capacity_) {
        index_.erase(entries_.back().key);
        entries_.pop_back();
    }
    entries_.push_front(entry{skey, {}});
    entries_.front().failures.reserve(static_cast<std::size_t>(max_failures_) + 1);
    index_.emplace(entries_.front().key, entries_.begin());
    return entries_.front();
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
    entry* e = find(skey);
    if (!e) return std::nullopt;
    prune(e->failures, now);
    return wait_of(e->failures, now);
}

void login_throttle::record_failure(const std::string& key) {
    const std::int64_t now = clock_.now_ms();
    const std::string skey = stored_key(key);
    std::lock_guard lock(mutex_);
    auto& failures = find_or_add(skey).failures;
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
    auto& failures = find_or_add(skey).failures;
    prune(failures, now);
    if (auto wait = wait_of(failures, now)) return wait;
    failures.push_back(now);
    return std::nullopt;
}

void login_throttle::cancel(const std::string& key) {
    const std::string skey = stored_key(key);
    std::lock_guard lock(mutex_);
    if (entry* e = find(skey); e && !e->failures.empty()) e->failures.pop_back();
}

void login_throttle::clear(const std::string& key) {
    const std::string skey = stored_key(key);
    std::lock_guard lock(mutex_);
    const auto it = index_.find(skey);
    if (it == index_.end()) return;
    const auto node = it->second;
    index_.erase(it);  // before the node: the index's key is a view of the node's key
    entries_.erase(node);
}

std::size_t login_throttle::size() const {
    std::lock_guard lock(mutex_);
    return index_.size();
}

}  // namespace bsocial::auth

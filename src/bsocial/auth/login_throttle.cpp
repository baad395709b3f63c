#include "bsocial/auth/login_throttle.hpp"

namespace bsocial::auth {

login_throttle::login_throttle(const clock& clock, int max_failures, std::int64_t window_seconds)
    : clock_(clock), max_failures_(max_failures), window_ms_(window_seconds * 1000) {}

void login_throttle::prune(std::deque<std::int64_t>& failures, std::int64_t now) {
    while (!failures.empty() && failures.front() <= now - window_ms_) failures.pop_front();
}

std::optional<std::int64_t> login_throttle::locked_for(const std::string& key) {
    const std::int64_t now = clock_.now_ms();
    std::lock_guard lock(mutex_);
    auto it = failures_.find(key);
    if (it == failures_.end()) return std::nullopt;
    prune(it->second, now);
    if (static_cast<int>(it->second.size()) < max_failures_) {
        if (it->second.empty()) failures_.erase(it);
        return std::nullopt;
    }
    // Locked until the oldest failure that keeps us at the limit leaves the window.
    const std::int64_t unlock_at =
        it->second[it->second.size() - static_cast<std::size_t>(max_failures_)] + window_ms_;
    return std::max<std::int64_t>(1, (unlock_at - now + 999) / 1000);
}

void login_throttle::record_failure(const std::string& key) {
    const std::int64_t now = clock_.now_ms();
    std::lock_guard lock(mutex_);
    auto& failures = failures_[key];
    prune(failures, now);
    failures.push_back(now);
    // Bound memory per key: older entries beyond the limit never matter.
    while (static_cast<int>(failures.size()) > max_failures_) failures.pop_front();
}

void login_throttle::clear(const std::string& key) {
    std::lock_guard lock(mutex_);
    failures_.erase(key);
}

}  // namespace bsocial::auth

#include "bsocial/auth/rate_limiter.hpp"

#include <algorithm>
#include <cmath>

namespace bsocial::auth {

rate_limiter::rate_limiter(const clock& clock, int per_minute, int burst, std::size_t capacity)
    : clock_(clock),
      per_ms_(per_minute / 60000.0),
      burst_(std::max(1, burst)),
      buckets_(capacity) {}

std::optional<std::int64_t> rate_limiter::try_take(const std::string& key) {
    if (per_ms_ <= 0) return std::nullopt;
    const std::int64_t now = clock_.now_ms();
    std::lock_guard lock(mutex_);
    auto [b, added] = buckets_.try_emplace(key, bucket{burst_, now});
    if (!added) {
        const auto elapsed = static_cast<double>(std::max<std::int64_t>(0, now - b->updated_ms));
        b->tokens = std::min(burst_, b->tokens + elapsed * per_ms_);
        b->updated_ms = now;
    }
    if (b->tokens >= 1.0) {
        b->tokens -= 1.0;
        return std::nullopt;
    }
    const double wait_ms = (1.0 - b->tokens) / per_ms_;
    return std::max<std::int64_t>(1, static_cast<std::int64_t>(std::ceil(wait_ms / 1000.0)));
}

std::size_t rate_limiter::size() const {
    std::lock_guard lock(mutex_);
    return buckets_.size();
}

}  // namespace bsocial::auth

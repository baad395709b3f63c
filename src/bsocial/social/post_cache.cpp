#include "bsocial/social/post_cache.hpp"

#include <algorithm>

namespace bsocial::social {

post_cache::post_cache(std::size_t max_posts) : max_posts_(std::max<std::size_t>(max_posts, 1)) {}

std::uint64_t post_cache::epoch() const {
    std::lock_guard lock(mutex_);
    return epoch_;
}

std::vector<post> post_cache::get(const std::vector<std::int64_t>& ids,
                                  std::vector<std::int64_t>& missing) {
    std::vector<post> found;
    found.reserve(ids.size());
    std::lock_guard lock(mutex_);
    for (const std::int64_t id : ids) {
        const auto it = posts_.find(id);
        if (it == posts_.end()) {
            missing.push_back(id);
            continue;
        }
        lru_.splice(lru_.begin(), lru_, it->second.lru);
        found.push_back(it->second.row);
    }
    return found;
}

void post_cache::put(const std::vector<post>& rows, std::uint64_t epoch) {
    std::lock_guard lock(mutex_);
    if (epoch != epoch_) return;  // a comment count may have moved since the read
    for (const post& row : rows) {
        if (posts_.contains(row.id)) continue;
        while (posts_.size() >= max_posts_) {
            posts_.erase(lru_.back());
            lru_.pop_back();
        }
        lru_.push_front(row.id);
        posts_.emplace(row.id, entry{row, lru_.begin()});
    }
}

void post_cache::comment_added(std::int64_t post_id, std::int64_t comment_count) {
    std::lock_guard lock(mutex_);
    ++epoch_;
    const auto it = posts_.find(post_id);
    if (it != posts_.end())
        it->second.row.comment_count = std::max(it->second.row.comment_count, comment_count);
}

std::size_t post_cache::size() const {
    std::lock_guard lock(mutex_);
    return posts_.size();
}

}  // namespace bsocial::social

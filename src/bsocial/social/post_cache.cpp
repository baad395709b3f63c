#include "bsocial/social/post_cache.hpp"

#include <algorithm>

namespace bsocial::social {

post_cache::post_cache(std::size_t max_posts) : posts_(max_posts) {}

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
        if (const post* row = posts_.find(id))
            found.push_back(*row);
        else
            missing.push_back(id);
    }
    return found;
}

void post_cache::put(const std::vector<post>& rows, std::uint64_t epoch) {
    std::lock_guard lock(mutex_);
    if (epoch != epoch_) return;  // a comment count may have moved since the read
    for (const post& row : rows)
        if (!posts_.contains(row.id)) posts_.try_emplace(row.id, row);
}

void post_cache::comment_added(std::int64_t post_id, std::int64_t comment_count) {
    std::lock_guard lock(mutex_);
    ++epoch_;
    if (post* row = posts_.peek(post_id))
        row->comment_count = std::max(row->comment_count, comment_count);
}

void post_cache::drop(std::int64_t post_id) {
    std::lock_guard lock(mutex_);
    ++epoch_;
    posts_.erase(post_id);
}

void post_cache::clear() {
    std::lock_guard lock(mutex_);
    ++epoch_;
    posts_.clear();
}

std::size_t post_cache::size() const {
    std::lock_guard lock(mutex_);
    return posts_.size();
}

}  // namespace bsocial::social

#pragma once
// A post's JSON, serialized once (issue 26). A post never changes but for its comment
// count (social/post_cache.hpp; users and posts are never edited), so everything of
// to_json(post) but the count is kept here as text, by post id:
// `{"id":"..","author":{..},"content":"..","created_at":"..","comment_count":`, and a
// page is written by appending that text, the count and `}` per item straight into the
// response body: no JSON tree, no per-post serialization, the same bytes as
// json::serialize(to_json(post)). Least recently used posts are dropped beyond
// `max_posts`. Thread-safe (one mutex, held once per page).

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "bsocial/core/lru_map.hpp"
#include "bsocial/http/message.hpp"
#include "bsocial/social/models.hpp"

namespace bsocial::api {

class post_json {
  public:
    static constexpr std::size_t default_max_posts = 100000;

    explicit post_json(std::size_t max_posts = default_max_posts);

    /// The page's answer: {"items":[...],"next_cursor":...} and its Link header, the same
    /// as list_response(req, page, to_json) would give.
    http::response page_response(const http::request& req, const social::page<social::post>& page,
                                 int limit);

    /// Serializes the posts not kept yet (a login's warmed first page, feed_warmer), so
    /// the page shown next appends text only.
    void prime(const std::vector<social::post>& posts);

    /// The JSON of everything but the count, ending in `"comment_count":`.
    static std::string head_of(const social::post& p);

    std::size_t size() const;

  private:
    using text = std::shared_ptr<const std::string>;
    /// Each post's head: from the cache, else made (outside the lock) and kept.
    std::vector<text> heads_of(const std::vector<social::post>& posts);

    mutable std::mutex mutex_;
    lru_map<std::int64_t, text> heads_;
};

}  // namespace bsocial::api

#pragma once
// What the social domain hands back to its callers. Plain values; the api module turns
// them into JSON.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace bsocial::social {

struct user {
    std::int64_t id = 0;
    std::string username;
    std::string email;
    std::string first_name;
    std::string last_name;
    std::int64_t created_at = 0;  ///< ms since epoch
};

struct author {
    std::int64_t id = 0;
    std::string username;
    std::string first_name;
    std::string last_name;
};

struct post {
    std::int64_t id = 0;
    author by;
    std::string content;
    std::int64_t created_at = 0;
    std::int64_t comment_count = 0;
};

struct comment {
    std::int64_t id = 0;
    std::int64_t post_id = 0;
    author by;
    std::string content;
    std::int64_t created_at = 0;
};

struct profile {
    user who;
    std::int64_t followers_count = 0;
    std::int64_t following_count = 0;
    bool followed_by_me = false;
};

/// A page request: limit already clamped to 1..100; cursor as received (opaque).
struct page_request {
    int limit = 20;
    std::optional<std::string> cursor;
};

template <class T>
struct page {
    std::vector<T> items;
    std::optional<std::string> next_cursor;
};

}  // namespace bsocial::social

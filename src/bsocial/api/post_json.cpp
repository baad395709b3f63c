#include "bsocial/api/post_json.hpp"


#include <boost/json.hpp>
#include <charconv>

#include "bsocial/api/json_io.hpp"
#include "bsocial/core/time_format.hpp"

namespace bsocial::api {

post_json::post_json(std::size_t max_posts) : heads_(max_posts) {}

std::string post_json::head_of(const social::post& p) {
    // to_json(post) without its last member, then that member's key: the same bytes.
    json::object o = to_json(p);
    o.erase("comment_count");
    std::string text = json::serialize(o);
    text.pop_back();  // '}'
    text += ",\"comment_count\":";
    return text;
}

std::vector<post_json::text> post_json::heads_of(const std::vector<social::post>& posts) {
    std::vector<text> heads(posts.size());
    {
        std::lock_guard lock(mutex_);
        for (std::size_t i = 0; i < posts.size(); ++i)
            if (text* found = heads_.find(posts[i].id)) heads[i] = *found;
    }
    std::vector<std::pair<std::int64_t, text>> fresh;  // made outside the lock
    for (std::size_t i = 0; i < posts.size(); ++i) {
        if (heads[i]) continue;
        heads[i] = std::make_shared<const std::string>(head_of(posts[i]));
        fresh.emplace_back(posts[i].id, heads[i]);
    }
    if (!fresh.empty()) {
        std::lock_guard lock(mutex_);
        for (auto& [id, t] : fresh)
            heads_.try_emplace_evicting([](const auto&, const auto&) {}, id, std::move(t));
    }
    return heads;
}

void post_json::prime(const std::vector<social::post>& posts) { heads_of(posts); }

http::response post_json::page_response(const http::request& req,
                                        const social::page<social::post>& page, int limit) {
    const std::vector<text> heads = heads_of(page.items);
    std::size_t bytes = 64;
    for (const auto& h : heads) bytes += h->size() + 24;

    http::response res;
    std::string& body = res.body;
    body.reserve(bytes + (page.next_cursor ? page.next_cursor->size() : 0));
    body += "{\"items\":[";
    char digits[24];
    for (std::size_t i = 0; i < page.items.size(); ++i) {
        if (i) body += ',';
        body += *heads[i];
        const auto r = std::to_chars(digits, digits + sizeof digits, page.items[i].comment_count);
        body.append(digits, r.ptr);
        body += '}';
    }
    body += "],\"next_cursor\":";
    body += page.next_cursor ? json::serialize(json::string_view(*page.next_cursor))
                             : std::string("null");
    body += '}';
    if (page.next_cursor) http::set_next_link(req, res, *page.next_cursor, limit);
    return res;
}

std::size_t post_json::size() const {
    std::lock_guard lock(mutex_);
    return heads_.size();
}

}  // namespace bsocial::api

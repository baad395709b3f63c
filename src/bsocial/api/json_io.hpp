#pragma once
// The JSON shapes of docs/openapi.yaml (users, authors, posts, comments) and list pages of
// domain items. The generic JSON helpers (body parsing, paging parameters, responses) are
// http/json.hpp; handlers use them under their http:: names.

#include <functional>

#include "bsocial/http/json.hpp"
#include "bsocial/social/models.hpp"

namespace bsocial::api {

namespace json = boost::json;
using http::json_response;
using http::no_content;
using http::parse_id;
using http::parse_json_body;
using http::take_string;

/// ?limit= and ?cursor= as the domain's page request (http::parse_page_params).
social::page_request parse_page(const http::request& req);

/// Each builds its JSON in `sp`'s memory (the default heap when omitted).
json::object to_json(const social::user& u, bool include_email, json::storage_ptr sp = {});
json::object to_json(const social::author& a, json::storage_ptr sp = {});
json::object to_json(const social::post& p, json::storage_ptr sp = {});
json::object to_json(const social::comment& c, json::storage_ptr sp = {});

/// Renders one item of a page into the page's memory.
template <class T>
using item_renderer = std::function<json::object(const T&, json::storage_ptr)>;

/// {"items":[...],"next_cursor":...} plus a Link: <path?limit=N&cursor=...>; rel="next".
/// The page's JSON tree lives in one arena, released at once: a page of 20 posts is
/// about 200 small objects and strings, which the heap otherwise allocates one by one.
template <class T>
http::response list_response(const http::request& req, const social::page<T>& page,
                             const item_renderer<T>& render) {
    unsigned char first_block[16 * 1024];
    json::monotonic_resource arena(first_block, sizeof first_block);
    const json::storage_ptr sp(&arena);
    json::array items(sp);
    items.reserve(page.items.size());
    for (const auto& item : page.items) items.push_back(render(item, sp));
    const auto requested = http::parse_page_params(req);
    return http::json_list_response(req, std::move(items), page.next_cursor, requested.limit);
}

}  // namespace bsocial::api

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

json::object to_json(const social::user& u, bool include_email);
json::object to_json(const social::author& a);
json::object to_json(const social::post& p);
json::object to_json(const social::comment& c);

/// {"items":[...],"next_cursor":...} plus a Link: <path?limit=N&cursor=...>; rel="next".
template <class T>
http::response list_response(const http::request& req, const social::page<T>& page,
                             const std::function<json::object(const T&)>& render) {
    json::array items;
    items.reserve(page.items.size());
    for (const auto& item : page.items) items.push_back(render(item));
    const auto requested = http::parse_page_params(req);
    return http::json_list_response(req, std::move(items), page.next_cursor, requested.limit);
}

}  // namespace bsocial::api

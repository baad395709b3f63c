#pragma once
// JSON in and out for handlers: body parsing with the 415/400/422 rules, typed field
// access, list pages with Link headers, and the JSON shapes of docs/openapi.yaml.

#include <boost/json.hpp>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "bsocial/core/error.hpp"
#include "bsocial/http/message.hpp"
#include "bsocial/social/models.hpp"

namespace bsocial::api {

namespace json = boost::json;

/// The body as a JSON object. 415 unless Content-Type is application/json, 400 when it is
/// not JSON, 422 when it is JSON but not an object.
json::object parse_json_body(const http::request& req);

/// A string field; records "is required" / "must be a string" in `errors` and returns "".
std::string take_string(const json::object& body, std::string_view field, field_errors& errors);

/// ?limit= (default 20, clamped to 100; 0, negative or non-numeric -> 422) and ?cursor=.
social::page_request parse_page(const http::request& req);

/// A path id ("123"); anything else is not_found.
std::int64_t parse_id(const std::string& text);

http::response json_response(unsigned status, json::value body);

/// 204 No Content.
http::response no_content();

json::object to_json(const social::user& u, bool include_email);
json::object to_json(const social::author& a);
json::object to_json(const social::post& p);
json::object to_json(const social::comment& c);

/// {"items":[...],"next_cursor":...} plus a Link: <path?limit=N&cursor=...>; rel="next".
template <class T>
http::response list_response(const http::request& req, const social::page<T>& page,
                             const std::function<json::object(const T&)>& render);

http::response list_response_impl(const http::request& req, json::array items,
                                  const std::optional<std::string>& next_cursor, int limit);

template <class T>
http::response list_response(const http::request& req, const social::page<T>& page,
                             const std::function<json::object(const T&)>& render) {
    json::array items;
    items.reserve(page.items.size());
    for (const auto& item : page.items) items.push_back(render(item));
    const auto requested = parse_page(req);
    return list_response_impl(req, std::move(items), page.next_cursor, requested.limit);
}

}  // namespace bsocial::api

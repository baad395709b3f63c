#include "bsocial/http/json.hpp"

#include <algorithm>
#include <cctype>

#include "bsocial/core/parse.hpp"
#include "bsocial/core/text.hpp"
#include "bsocial/http/errc.hpp"

namespace bsocial::http {

namespace {
constexpr int default_limit = 20;
constexpr int max_limit = 100;

bool is_json_content_type(const std::string* value) {
    if (!value) return false;
    const std::string v = ascii_lower(*value);
    const auto semi = v.find(';');
    std::string mime = v.substr(0, semi);
    while (!mime.empty() && mime.back() == ' ') mime.pop_back();
    return mime == "application/json";
}

bool is_digits(std::string_view s) {
    return !s.empty() &&
           std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// Query values are echoed into the Link header: keep only cursor-safe characters.
bool is_base64url(std::string_view s) {
    for (char c : s)
        if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_') return false;
    return true;
}
}  // namespace

json::object parse_json_body(const request& req) {
    if (!is_json_content_type(req.header("content-type")))
        throw transport_error(errc::unsupported_media_type,
                              "Content-Type must be application/json");
    boost::system::error_code ec;
    json::value v = json::parse(req.body, ec);
    if (ec) throw transport_error(errc::malformed_json, "the body is not valid JSON");
    if (!v.is_object())
        throw error(error_code::validation_failed, "the body must be a JSON object");
    return std::move(v.as_object());
}

std::string take_string(const json::object& body, std::string_view field, field_errors& errors) {
    const auto* v = body.if_contains(field);
    if (!v || v->is_null()) {
        errors[std::string(field)] = "is required";
        return "";
    }
    if (!v->is_string()) {
        errors[std::string(field)] = "must be a string";
        return "";
    }
    return std::string(v->as_string());
}

page_params parse_page_params(const request& req) {
    page_params page;
    page.limit = default_limit;
    if (auto limit = req.query_param("limit")) {
        auto n = parse_int64(*limit);
        if (!n && is_digits(*limit))
            n = max_limit;  // a huge number is clamped like any number above the maximum
        if (!n || *n < 1)
            throw error(error_code::validation_failed, "invalid limit",
                        {{"limit", "must be a whole number from 1 to 100"}});
        page.limit = static_cast<int>(std::min<std::int64_t>(*n, max_limit));
    }
    if (auto cursor = req.query_param("cursor")) {
        if (cursor->empty() || cursor->size() > 200 || !is_base64url(*cursor))
            throw invalid_cursor();
        page.cursor = *cursor;
    }
    return page;
}

std::int64_t parse_id(const std::string& text) {
    const auto id = parse_positive_id(text);
    if (!id) throw error(error_code::not_found, "no such resource");
    return *id;
}

response json_response(unsigned status, json::value body) {
    response res;
    res.status = status;
    res.body = json::serialize(body);
    return res;
}

response no_content() {
    response res;
    res.status = 204;
    return res;
}

response json_list_response(const request& req, json::array items,
                            const std::optional<std::string>& next_cursor, int limit) {
    json::object body(items.storage());  // the items' memory: moved, not copied
    body["items"] = std::move(items);
    body["next_cursor"] = next_cursor ? json::value(*next_cursor) : json::value(nullptr);
    auto res = json_response(200, std::move(body));
    if (next_cursor) set_next_link(req, res, *next_cursor, limit);
    return res;
}

void set_next_link(const request& req, response& res, const std::string& next_cursor, int limit) {
    std::string link = "<" + req.path + "?limit=" + std::to_string(limit);
    if (auto q = req.query_param("q"); q && is_base64url(*q)) link += "&q=" + *q;
    if (auto o = req.query_param("order"); o == "newest") link += "&order=newest";
    link += "&cursor=" + next_cursor + ">; rel=\"next\"";
    res.set_header("Link", link);
}

}  // namespace bsocial::http

#include "bsocial/api/json_io.hpp"

#include "bsocial/core/time_format.hpp"

namespace bsocial::api {

social::page_request parse_page(const http::request& req) {
    auto params = http::parse_page_params(req);
    return {params.limit, std::move(params.cursor)};
}

json::object to_json(const social::user& u, bool include_email) {
    json::object o{{"id", std::to_string(u.id)},
                   {"username", u.username},
                   {"first_name", u.first_name},
                   {"last_name", u.last_name},
                   {"created_at", format_rfc3339_ms(u.created_at)}};
    if (include_email) o["email"] = u.email;
    return o;
}

json::object to_json(const social::author& a) {
    return {{"id", std::to_string(a.id)},
            {"username", a.username},
            {"first_name", a.first_name},
            {"last_name", a.last_name}};
}

json::object to_json(const social::post& p) {
    return {{"id", std::to_string(p.id)},
            {"author", to_json(p.by)},
            {"content", p.content},
            {"created_at", format_rfc3339_ms(p.created_at)},
            {"comment_count", p.comment_count}};
}

json::object to_json(const social::comment& c) {
    return {{"id", std::to_string(c.id)},
            {"post_id", std::to_string(c.post_id)},
            {"author", to_json(c.by)},
            {"content", c.content},
            {"created_at", format_rfc3339_ms(c.created_at)}};
}

}  // namespace bsocial::api

#include "bsocial/api/json_io.hpp"

#include "bsocial/core/time_format.hpp"

namespace bsocial::api {

social::page_request parse_page(const http::request& req) {
    auto params = http::parse_page_params(req);
    return {params.limit, std::move(params.cursor)};
}

json::object to_json(const social::user& u, bool include_email, json::storage_ptr sp) {
    json::object o({{"id", std::to_string(u.id)},
                    {"username", u.username},
                    {"first_name", u.first_name},
                    {"last_name", u.last_name},
                    {"created_at", format_rfc3339_ms(u.created_at)}},
                   sp);
    if (include_email) o["email"] = u.email;
    return o;
}

json::object to_json(const social::author& a, json::storage_ptr sp) {
    return json::object({{"id", std::to_string(a.id)},
                         {"username", a.username},
                         {"first_name", a.first_name},
                         {"last_name", a.last_name}},
                        sp);
}

json::object to_json(const social::post& p, json::storage_ptr sp) {
    return json::object({{"id", std::to_string(p.id)},
                         {"author", to_json(p.by, sp)},
                         {"content", p.content},
                         {"created_at", format_rfc3339_ms(p.created_at)},
                         {"comment_count", p.comment_count}},
                        sp);
}

json::object to_json(const social::comment& c, json::storage_ptr sp) {
    return json::object({{"id", std::to_string(c.id)},
                         {"post_id", std::to_string(c.post_id)},
                         {"author", to_json(c.by, sp)},
                         {"content", c.content},
                         {"created_at", format_rfc3339_ms(c.created_at)}},
                        sp);
}

}  // namespace bsocial::api

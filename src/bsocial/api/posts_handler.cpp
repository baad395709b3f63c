#include "bsocial/api/handlers.hpp"
#include "bsocial/api/json_io.hpp"

namespace bsocial::api {

namespace {
std::string content_of(const http::request& req) {
    const auto body = parse_json_body(req);
    field_errors errors;
    std::string content = take_string(body, "content", errors);
    if (!errors.empty()) throw error(error_code::validation_failed, "invalid content", errors);
    return content;
}

/// ?order=oldest (default) | newest: the newest comments in one request (issue 27).
bool newest_first(const http::request& req) {
    const auto order = req.query_param("order");
    if (order && *order != "oldest" && *order != "newest")
        throw error(error_code::validation_failed, "invalid order",
                    {{"order", "must be oldest or newest"}});
    return order && *order == "newest";
}

json::object render_comment(const social::comment& c, json::storage_ptr sp) {
    return to_json(c, std::move(sp));
}
}  // namespace

posts_handler::posts_handler(social::posts& posts, const sessions::authenticator& auth,
                             social::user_limits& limits)
    : posts_(posts), auth_(auth), limits_(limits) {}

http::response posts_handler::create(http::request& req) {
    const auto caller = auth_.require(req);
    limits_.take_post(caller.who.id);
    const auto p = posts_.create_post(caller.who, content_of(req));
    return json_response(201, json::object{{"post", to_json(p)}});
}

http::response posts_handler::get(http::request& req) {
    const auto caller = auth_.require(req);
    const auto p = posts_.get_post(caller.who, parse_id(req.params.at(0)));
    return json_response(200, json::object{{"post", to_json(p)}});
}

http::response posts_handler::feed(http::request& req) {
    const auto caller = auth_.require(req);
    const auto page = parse_page(req);
    return json_.page_response(req, posts_.feed(caller.who, page), page.limit);
}

std::optional<http::response> posts_handler::feed_in_memory(http::request& req) {
    const auto caller = auth_.require_in_memory(req);
    if (!caller) return std::nullopt;
    const auto page = parse_page(req);
    auto found = posts_.feed_in_memory(caller->who, page);
    if (!found) return std::nullopt;
    return json_.page_response(req, *found, page.limit);
}

http::response posts_handler::user_posts(http::request& req) {
    const auto caller = auth_.require(req);
    const auto page = parse_page(req);
    return json_.page_response(req, posts_.user_posts(caller.who, req.params.at(0), page),
                               page.limit);
}

http::response posts_handler::add_comment(http::request& req) {
    const auto caller = auth_.require(req);
    const auto post_id = parse_id(req.params.at(0));
    limits_.take_comment(caller.who.id);
    const auto c = posts_.add_comment(caller.who, post_id, content_of(req));
    return json_response(201, json::object{{"comment", to_json(c)}});
}

http::response posts_handler::list_comments(http::request& req) {
    const auto caller = auth_.require(req);
    const auto post_id = parse_id(req.params.at(0));
    const bool newest = newest_first(req);
    return list_response<social::comment>(
        req, posts_.comments(caller.who, post_id, parse_page(req), newest), render_comment);
}

std::optional<http::response> posts_handler::list_comments_in_memory(http::request& req) {
    const auto caller = auth_.require_in_memory(req);
    if (!caller) return std::nullopt;
    const auto post_id = parse_id(req.params.at(0));
    const bool newest = newest_first(req);
    auto found = posts_.comments_in_memory(caller->who, post_id, parse_page(req), newest);
    if (!found) return std::nullopt;
    return list_response<social::comment>(req, *found, render_comment);
}

// The author only; anyone else, an unknown id and a second delete get the same 404.
http::response posts_handler::delete_post(http::request& req) {
    const auto caller = auth_.require(req);
    posts_.delete_post(caller.who, parse_id(req.params.at(0)));
    return no_content();
}

http::response posts_handler::delete_comment(http::request& req) {
    const auto caller = auth_.require(req);
    posts_.delete_comment(caller.who, parse_id(req.params.at(0)));
    return no_content();
}

}  // namespace bsocial::api

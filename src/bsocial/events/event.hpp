#pragma once
// Domain events of docs/events.md: the envelope, the topics, and one builder per type.
// Builders take plain values so that this module depends on nothing but Boost.JSON.
// Never put a password, hash or token in `data`.

#include <boost/json/object.hpp>
#include <cstdint>
#include <string>
#include <string_view>

namespace bsocial::events {

namespace topics {
inline constexpr std::string_view users = "bsocial.users";
inline constexpr std::string_view posts = "bsocial.posts";
inline constexpr std::string_view comments = "bsocial.comments";
inline constexpr std::string_view follows = "bsocial.follows";
}  // namespace topics

struct event {
    std::string id;     ///< UUID v4: the dedupe key downstream
    std::string type;   ///< e.g. "post.created"
    std::string topic;  ///< Kafka topic
    std::string key;    ///< Kafka message key (the aggregate id)
    std::int64_t occurred_at_ms = 0;
    boost::json::object data;
};

/// {"id","type","version":1,"occurred_at","data"} serialised as compact UTF-8 JSON.
std::string envelope_json(const event& e);

struct user_fields {
    std::int64_t id = 0;
    std::string username;
    std::string email;
};

event user_registered(const user_fields& user, const std::string& first_name,
                      const std::string& last_name, std::int64_t at_ms);
event user_logged_in(const user_fields& user, std::int64_t at_ms);
event user_logged_out(const user_fields& user, std::int64_t at_ms);
event post_created(std::int64_t post_id, const user_fields& author, const std::string& content,
                   std::int64_t at_ms);
event comment_created(std::int64_t comment_id, std::int64_t post_id, std::int64_t post_author_id,
                      const user_fields& commenter, const std::string& content, std::int64_t at_ms);
/// A post deleted by its author (its comments and notifications went with it).
event post_deleted(std::int64_t post_id, const user_fields& author, std::int64_t at_ms);
/// A comment deleted by its author.
event comment_deleted(std::int64_t comment_id, std::int64_t post_id, std::int64_t post_author_id,
                      const user_fields& commenter, std::int64_t at_ms);
/// follow.created when `created`, else follow.deleted.
event follow_changed(bool created, const user_fields& follower, const user_fields& followee,
                     std::int64_t at_ms);

}  // namespace bsocial::events

#include "bsocial/events/event.hpp"

#include <boost/json/serialize.hpp>

#include "bsocial/core/random.hpp"
#include "bsocial/core/time_format.hpp"

namespace bsocial::events {

namespace {
event make(std::string_view type, std::string_view topic, std::int64_t key, std::int64_t at_ms,
           boost::json::object data) {
    return event{new_uuid_v4(), std::string(type), std::string(topic), std::to_string(key),
                 at_ms,         std::move(data)};
}
std::string id(std::int64_t v) { return std::to_string(v); }
}  // namespace

std::string envelope_json(const event& e) {
    boost::json::object envelope;
    envelope["id"] = e.id;
    envelope["type"] = e.type;
    envelope["version"] = 1;
    envelope["occurred_at"] = format_rfc3339_ms(e.occurred_at_ms);
    envelope["data"] = e.data;
    return boost::json::serialize(envelope);
}

event user_registered(const user_fields& user, const std::string& first_name,
                      const std::string& last_name, std::int64_t at_ms) {
    return make("user.registered", topics::users, user.id, at_ms,
                {{"user_id", id(user.id)},
                 {"username", user.username},
                 {"email", user.email},
                 {"first_name", first_name},
                 {"last_name", last_name},
                 {"registered_at", format_rfc3339_ms(at_ms)}});
}

event user_logged_in(const user_fields& user, std::int64_t at_ms) {
    return make("user.logged_in", topics::users, user.id, at_ms,
                {{"user_id", id(user.id)},
                 {"username", user.username},
                 {"email", user.email},
                 {"logged_in_at", format_rfc3339_ms(at_ms)}});
}

event user_logged_out(const user_fields& user, std::int64_t at_ms) {
    return make("user.logged_out", topics::users, user.id, at_ms,
                {{"user_id", id(user.id)},
                 {"username", user.username},
                 {"logged_out_at", format_rfc3339_ms(at_ms)}});
}

event post_created(std::int64_t post_id, const user_fields& author, const std::string& content,
                   std::int64_t at_ms) {
    return make("post.created", topics::posts, post_id, at_ms,
                {{"post_id", id(post_id)},
                 {"user_id", id(author.id)},
                 {"username", author.username},
                 {"email", author.email},
                 {"content", content},
                 {"created_at", format_rfc3339_ms(at_ms)}});
}

event comment_created(std::int64_t comment_id, std::int64_t post_id, std::int64_t post_author_id,
                      const user_fields& commenter, const std::string& content,
                      std::int64_t at_ms) {
    return make("comment.created", topics::comments, post_id, at_ms,
                {{"comment_id", id(comment_id)},
                 {"post_id", id(post_id)},
                 {"post_author_id", id(post_author_id)},
                 {"user_id", id(commenter.id)},
                 {"username", commenter.username},
                 {"email", commenter.email},
                 {"content", content},
                 {"created_at", format_rfc3339_ms(at_ms)}});
}

event post_deleted(std::int64_t post_id, const user_fields& author, std::int64_t at_ms) {
    return make("post.deleted", topics::posts, post_id, at_ms,
                {{"post_id", id(post_id)},
                 {"user_id", id(author.id)},
                 {"username", author.username},
                 {"deleted_at", format_rfc3339_ms(at_ms)}});
}

event comment_deleted(std::int64_t comment_id, std::int64_t post_id, std::int64_t post_author_id,
                      const user_fields& commenter, std::int64_t at_ms) {
    return make("comment.deleted", topics::comments, post_id, at_ms,
                {{"comment_id", id(comment_id)},
                 {"post_id", id(post_id)},
                 {"post_author_id", id(post_author_id)},
                 {"user_id", id(commenter.id)},
                 {"username", commenter.username},
                 {"deleted_at", format_rfc3339_ms(at_ms)}});
}

event follow_changed(bool created, const user_fields& follower, const user_fields& followee,
                     std::int64_t at_ms) {
    return make(created ? "follow.created" : "follow.deleted", topics::follows, follower.id, at_ms,
                {{"follower_id", id(follower.id)},
                 {"follower_username", follower.username},
                 {"followee_id", id(followee.id)},
                 {"followee_username", followee.username},
                 {"at", format_rfc3339_ms(at_ms)}});
}

}  // namespace bsocial::events

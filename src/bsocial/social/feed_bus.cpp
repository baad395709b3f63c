#include "bsocial/social/feed_bus.hpp"

#include <spdlog/spdlog.h>

#include <boost/json.hpp>
#include <charconv>
#include <optional>
#include <string_view>

namespace bsocial::social {

namespace {
namespace json = boost::json;

/// An id, written as a string (the agreed form) or a number; nullopt when absent or bad.
std::optional<std::int64_t> id_field(const json::object& o, std::string_view name) {
    const json::value* v = o.if_contains(name);
    if (!v) return std::nullopt;
    if (v->is_int64()) return v->as_int64();
    if (v->is_uint64() && v->as_uint64() <= static_cast<std::uint64_t>(INT64_MAX))
        return static_cast<std::int64_t>(v->as_uint64());
    if (!v->is_string()) return std::nullopt;
    const json::string& s = v->as_string();
    std::int64_t out = 0;
    const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
    if (ec != std::errc{} || end != s.data() + s.size()) return std::nullopt;
    return out;
}

std::optional<json::object> object_of(std::string_view payload) {
    boost::system::error_code ec;
    json::value v = json::parse(payload, ec);
    if (ec || !v.is_object()) return std::nullopt;
    return std::move(v.as_object());
}

/// Runs `apply` on the payload's object, or forgets every cache when it cannot be read.
template <class Apply>
store::cluster_bus::handler handler_for(const timelines& t, comment_cache* comments,
                                        std::string_view topic, Apply apply) {
    return [&t, comments, topic, apply](std::string_view payload) {
        const auto o = object_of(payload);
        if (o && apply(*o)) return;
        spdlog::warn("module=social event=bus_message_unreadable topic={} action=caches_forgotten",
                     topic);
        t.forget_everything();
        if (comments) comments->clear();
    };
}
}  // namespace

void keep_feed_caches_right(store::cluster_bus& bus, const timelines& t,
                            comment_cache* comments) {
    if (!t.by_bus()) return;
    bus.subscribe("post.created",
                  handler_for(t, comments, "post.created", [&t](const json::object& o) {
                      const auto post_id = id_field(o, "post_id");
                      const auto author_id = id_field(o, "author_id");
                      if (!post_id || !author_id) return false;
                      const auto at = id_field(o, "created_at");
                      t.post_announced(*author_id, at ? std::optional<timeline_key>(
                                                            timeline_key{*at, *post_id})
                                                      : std::nullopt);
                      return true;
                  }));
    bus.subscribe("post.deleted", handler_for(t, comments, "post.deleted", [&t, comments](const json::object& o) {
                      const auto post_id = id_field(o, "post_id");
                      const auto author_id = id_field(o, "author_id");
                      if (!post_id || !author_id) return false;
                      t.post_removed(*post_id, *author_id);
                      if (comments) comments->drop(*post_id);
                      return true;
                  }));
    for (const char* topic : {"comment.created", "comment.deleted"}) {
        bus.subscribe(topic, handler_for(t, comments, topic, [&t, comments](const json::object& o) {
                          const auto post_id = id_field(o, "post_id");
                          if (!post_id) return false;
                          t.comment_count_changed(*post_id);
                          if (comments) comments->drop(*post_id);
                          return true;
                      }));
    }
    bus.subscribe("follow.changed", handler_for(t, comments, "follow.changed", [&t](const json::object& o) {
                      const auto follower_id = id_field(o, "follower_id");
                      if (!follower_id) return false;
                      t.follows_changed(*follower_id);
                      return true;
                  }));
    bus.on_resync([&t, comments] {
        t.forget_everything();
        if (comments) comments->clear();
    });
}

std::string post_created_payload(std::int64_t post_id, std::int64_t author_id,
                                 std::int64_t created_at) {
    return json::serialize(json::object{{"post_id", std::to_string(post_id)},
                                        {"author_id", std::to_string(author_id)},
                                        {"created_at", std::to_string(created_at)}});
}

std::string comment_payload(std::int64_t comment_id, std::int64_t post_id,
                            std::int64_t post_author_id) {
    return json::serialize(json::object{{"comment_id", std::to_string(comment_id)},
                                        {"post_id", std::to_string(post_id)},
                                        {"post_author_id", std::to_string(post_author_id)}});
}

std::string follow_changed_payload(std::int64_t follower_id, std::int64_t followee_id) {
    return json::serialize(json::object{{"follower_id", std::to_string(follower_id)},
                                        {"followee_id", std::to_string(followee_id)}});
}

}  // namespace bsocial::social

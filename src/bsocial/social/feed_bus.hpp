#pragma once
// The feed's caches on PostgreSQL, kept right across replicas (docs/feed.md): every
// `serve` keeps the timelines and posts it reads in memory (timeline_cache, post_cache
// over the tables), and hears of every change another replica made from the cluster bus
// (store/cluster_bus.hpp; the publisher's own process too, harmlessly: its caches were
// changed right after its commit already).
//
//   "post.created"    {"post_id","author_id"[,"created_at"]} -> into the cached timelines of
//                     the author and their followers (without created_at: those forgotten)
//   "post.deleted"    {"post_id","author_id"} -> the post, its comment list and those
//                     timelines forgotten
//   "comment.created" / "comment.deleted" {"comment_id","post_id",...} -> the post's count,
//                     and its cached comment list (comment_cache) forgotten
//   "follow.changed"  {"follower_id","followee_id"} -> the follower's timeline forgotten
//   resync (messages may have been missed) -> every cached timeline, post and comment
//                     list forgotten
//
// A payload that cannot be read forgets everything too (and is logged): a cache may only
// ever be behind by the bus's delivery time, never wrong for longer.

#include <cstdint>
#include <string>

#include "bsocial/social/comment_cache.hpp"
#include "bsocial/social/timeline.hpp"
#include "bsocial/store/cluster_bus.hpp"

namespace bsocial::social {

/// Before bus.start(): subscribes `t`'s caches, and `comments` when given, to the messages
/// above. Does nothing when `t` keeps no cache over the tables (SQLite changes its caches
/// in the writer's turn).
void keep_feed_caches_right(store::cluster_bus& bus, const timelines& t,
                            comment_cache* comments = nullptr);

/// The payloads (ids as strings).
std::string post_created_payload(std::int64_t post_id, std::int64_t author_id,
                                 std::int64_t created_at);
std::string comment_payload(std::int64_t comment_id, std::int64_t post_id,
                            std::int64_t post_author_id);
std::string follow_changed_payload(std::int64_t follower_id, std::int64_t followee_id);

}  // namespace bsocial::social

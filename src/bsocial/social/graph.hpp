#pragma once
// The follow graph and finding people: follow/unfollow (one way, idempotent), profiles,
// followers/following lists and username-prefix search. Blocking: blocking-work pool only.

#include <soci/statement.h>

#include <functional>
#include <optional>
#include <string>

#include "bsocial/core/clock.hpp"
#include "bsocial/social/models.hpp"
#include "bsocial/social/timeline.hpp"
#include "bsocial/store/cluster_bus.hpp"
#include "bsocial/store/database.hpp"

namespace bsocial::social {

/// The usernames that start with a search prefix: [from, to) in byte order.
struct username_range {
    std::string from;
    std::string to;
};
/// nullopt when `prefix` (lower-cased) holds a character no username can, so nothing matches.
std::optional<username_range> prefix_range(const std::string& prefix);

class graph {
  public:
    /// With `bus`, each follow and unfollow is announced ("follow.changed") to the other
    /// replicas' feed caches (social/feed_bus.hpp).
    graph(store::database& db, const timelines& timelines, const clock& clock,
          store::cluster_bus* bus = nullptr);

    /// Throws error{not_found} for an unknown user, error{validation_failed} for yourself.
    void follow(const user& me, const std::string& username);
    /// Throws error{not_found} for an unknown user; not following is fine.
    void unfollow(const user& me, const std::string& username);

    profile get_profile(const user& me, const std::string& username);
    page<user> followers(const std::string& username, const page_request& req);
    page<user> following(const std::string& username, const page_request& req);
    /// Users whose username starts with `prefix` (case-insensitive), by username.
    page<user> search(const std::string& prefix, const page_request& req);

  private:
    /// followers/following of `username`: the query binds the user id, then the page.
    page<user> relation(const char* query, const std::string& username, const page_request& req);
    /// `bind_filter` binds every placeholder before :limit.
    page<user> fetch_page(const char* query,
                          const std::function<void(soci::statement&)>& bind_filter, int limit);
    page<user> list(const char* sql, const std::function<void(soci::statement&)>& bind_filter,
                    const page_request& req);

    store::database& db_;
    const timelines& timelines_;
    const clock& clock_;
    store::cluster_bus* bus_;
};

}  // namespace bsocial::social

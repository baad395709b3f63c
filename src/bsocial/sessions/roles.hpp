#pragma once
// Who is an administrator: any account whose username is in BSOCIAL_ADMINS (comma-separated,
// empty by default). Administrators see the analytics (src/bsocial/analytics); GET
// /api/v1/users/me tells the web app with `is_admin`. Read-only after construction.

#include <set>
#include <string>
#include <vector>

#include "bsocial/social/models.hpp"

namespace bsocial::sessions {

class roles {
  public:
    roles() = default;
    /// Usernames, matched case-insensitively (usernames are stored in lower case).
    explicit roles(const std::vector<std::string>& admins);

    bool is_admin(const social::user& who) const;
    const std::set<std::string>& admins() const { return admins_; }

  private:
    std::set<std::string> admins_;
};

}  // namespace bsocial::sessions

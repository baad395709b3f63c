#include "bsocial/sessions/roles.hpp"

#include "bsocial/core/text.hpp"
#include "bsocial/social/validation.hpp"

namespace bsocial::sessions {

roles::roles(const std::vector<std::string>& admins) {
    for (const auto& name : admins) {
        const auto username = ascii_lower(social::trim(name));
        if (!username.empty()) admins_.insert(username);
    }
}

bool roles::is_admin(const social::user& who) const {
    return admins_.contains(ascii_lower(who.username));
}

}  // namespace bsocial::sessions

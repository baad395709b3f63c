#pragma once
// The JWT secret of `serve` and `notifier`: BSOCIAL_JWT_SECRET, or a file in the data
// directory generated once.

#include <string>

#include "bsocial/auth/settings.hpp"

namespace bsocial::apps {

/// The configured secret, or one generated once and kept (mode 0600) in `data_dir` so
/// that tokens survive restarts and every process on the machine agrees. Throws when the
/// secret is short or published, or the file is not private.
std::string load_jwt_secret(const auth::token_settings& tokens, const std::string& data_dir);

}  // namespace bsocial::apps

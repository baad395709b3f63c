#pragma once
// A session's device in plain words, from the User-Agent of the login that opened it
// (GET /api/v1/sessions): "Firefox on Windows", "Safari on iPhone", "Chrome on Android",
// "curl". Browser, then the operating system; either may be unknown ("Unknown browser on
// Linux", "Firefox"), and an empty or unrecognised agent is "Unknown device". Order
// matters: Edge and Opera say "Chrome" too, Chrome says "Safari", Android says "Linux".

#include <string>
#include <string_view>

namespace bsocial::sessions {

/// At most this many bytes of a User-Agent are kept with a session.
inline constexpr std::size_t max_user_agent_bytes = 512;

std::string describe_device(std::string_view user_agent);

}  // namespace bsocial::sessions

#pragma once
// Transport error codes: what is wrong with a request as HTTP (its form, method, size,
// media type, missing upgrade), found before any domain rule runs. The domain's codes are
// core/error.hpp; http/problem.cpp maps both kinds to statuses, in one place.

#include <stdexcept>
#include <string>

namespace bsocial::http {

enum class errc {
    bad_request,             ///< malformed request line, target or HTTP framing
    malformed_json,          ///< a JSON body that does not parse
    unsupported_media_type,  ///< a body that is not application/json
    method_not_allowed,      ///< a known path, another method
    payload_too_large,       ///< a body over the limit
    headers_too_large,       ///< request headers over the limit
    upgrade_required,        ///< a WebSocket resource without the handshake
};

/// Stable snake_case name of a code, as sent in {"error":{"code":...}}.
const char* to_string(errc code) noexcept;

/// Thrown (and answered as a problem) for a request that is wrong as HTTP.
class transport_error : public std::runtime_error {
  public:
    transport_error(errc code, std::string message)
        : std::runtime_error(std::move(message)), code_(code) {}
    errc code() const noexcept { return code_; }

  private:
    errc code_;
};

}  // namespace bsocial::http

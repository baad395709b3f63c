#pragma once
// The web app's files (web/dist) served at "/": GET and HEAD only, never above the root directory,
// index.html for client-side routes, and the browser security headers (CSP and the rest;
// docs/security.md, item 5) on HTML. Read-only after construction: thread-safe.

#include <filesystem>
#include <optional>

#include "bsocial/http/message.hpp"

namespace bsocial::http {

class static_files {
  public:
    /// Throws std::invalid_argument when `root` has no index.html.
    explicit static_files(const std::filesystem::path& root);

    /// The file for req.path, index.html for an extension-less unknown path (a client-side
    /// route), or nullopt (the caller answers 404).
    std::optional<response> serve(const request& req) const;

  private:
    std::filesystem::path root_;
};

/// Content-Security-Policy sent with every HTML page. connect-src 'self' also allows the
/// WebSocket to this origin (ws: for http, wss: for https: CSP Level 3, docs/security.md
/// item 5); a bare `ws: wss:` would allow any host.
inline constexpr const char* content_security_policy =
    "default-src 'self'; script-src 'self'; style-src 'self'; connect-src 'self'; "
    "img-src 'self' data:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; "
    "form-action 'self'";

}  // namespace bsocial::http

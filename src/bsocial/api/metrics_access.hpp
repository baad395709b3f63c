#pragma once
// Who may read /metrics (issue 24, item 6; docs/security.md, "Who reads /metrics"). The
// figures (backlogs, refusals, hashing, sockets) tell an attacker how the service is
// doing under its attack, and rendering them costs SQL counts, so the page is not public:
//
//   - BSOCIAL_METRICS_TOKEN set: only a request with `Authorization: Bearer <token>`
//     (compared in constant time), from anywhere; Prometheus sends it with
//     `authorization: {credentials: ...}` in its scrape config;
//   - unset (default): only a client on this host: a loopback TCP peer that did not come
//     through a proxy (no X-Forwarded-For, Forwarded or X-Real-IP header, peer not a
//     trusted proxy), e.g. a scraper or `curl` on the machine.
//
// Anyone else gets 404, as for a route that does not exist. Read-only after start.

#include <string>

#include "bsocial/http/message.hpp"

namespace bsocial::api {

struct metrics_access {
    std::string token;  ///< empty: loopback clients only

    /// Throws std::invalid_argument naming the bad setting.
    void validate() const;
    template <class Declare>
    void describe(Declare& d) {
        d(token, "metrics-token", "BSOCIAL_METRICS_TOKEN",
          "bearer token /metrics requires (at least 32 characters); empty: /metrics answers "
          "only direct clients on this host (loopback)");
    }

    bool allows(const http::request& req) const;
};

}  // namespace bsocial::api

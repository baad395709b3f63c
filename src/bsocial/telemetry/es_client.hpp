#pragma once
// A minimal Elasticsearch REST client on libcurl, speaking the subset common to
// Elasticsearch 7.10+/8.x and OpenSearch 2.x: plain application/json bodies (never the
// ES 8 "compatible-with" media types, which OpenSearch refuses with 406), NDJSON for _bulk.
// Basic auth and a CA file for https. Keeps one connection alive between requests.
// Several nodes: the URL may be a comma-separated list (a cluster's nodes, each with the
// same credentials and CA); a request that gets no answer from one node (connection
// refused, timeout) or a gateway's 502/503/504 is sent to the next one, and the node that
// answered is used first from then on (docs/telemetry.md, "Cluster").
//
// Lifecycle: one instance per thread (a CURL easy handle is not thread-safe).

#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "bsocial/telemetry/config.hpp"

namespace bsocial::telemetry {

/// Transport failure: connection refused, timeout, TLS error... (Elasticsearch is down or
/// unreachable). HTTP error statuses are not exceptions: see http_response::status.
class es_unreachable : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

/// Elasticsearch answered, but our settings are wrong: the credentials were refused (HTTP
/// 401/403) or its TLS certificate is not signed by the CA we trust. Retrying cannot help,
/// so `bsocial telemetry` and `bsocial query` stop at start with this message.
class es_config_error : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

struct http_response {
    long status = 0;
    std::string body;
};

class es_client {
  public:
    /// Throws std::runtime_error when libcurl cannot be initialised.
    explicit es_client(const elasticsearch_config& config);
    ~es_client();
    es_client(const es_client&) = delete;
    es_client& operator=(const es_client&) = delete;

    /// `path` starts with '/'. Sends `body` (if not empty) with `content_type`. Throws
    /// es_unreachable (no answer) or es_config_error (HTTP 401/403, untrusted certificate).
    http_response request(std::string_view method, std::string_view path,
                          std::string_view body = {},
                          std::string_view content_type = "application/json");

    /// The base URL(s) without credentials, comma-separated, for logs and the ready line.
    const std::string& display_url() const { return display_url_; }

  private:
    /// One attempt on nodes_[i]; fills `response`, returns the curl code (as long).
    long perform(std::size_t i, const std::string& verb, std::string_view path,
                 std::string_view body, std::string_view content_type, http_response& response);

    void* curl_;                      ///< CURL*, kept opaque so that this header needs no curl.h
    std::vector<std::string> nodes_;  ///< base URLs, without a trailing '/'
    std::size_t current_ = 0;         ///< the node tried first (the last one that answered)
    std::string display_url_;
    std::string user_;
    std::string password_;
    std::string ca_file_;
    long timeout_ms_;
};

/// `url` without "user:password@"; the credentials (percent-decoded) go to user/password
/// when those are empty. Lets BSOCIAL_ELASTICSEARCH_URL carry credentials like ES 8 docs.
/// With a list of URLs, every one loses its credentials (the first one's are kept).
elasticsearch_config split_credentials(elasticsearch_config config);

}  // namespace bsocial::telemetry

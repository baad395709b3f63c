#pragma once
// Plain HTTP request/response values handed between the Beast server and the handlers,
// so that handlers (and their tests) never touch Beast types.

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace bsocial::http {

using header_list = std::vector<std::pair<std::string, std::string>>;

struct request {
    std::string method;   ///< "GET", "POST", ...
    std::string path;     ///< percent-decoded, without the query
    header_list query;    ///< decoded query parameters, in order
    header_list headers;  ///< names in lower case
    std::string body;
    /// The client, as every per-address limit keys on it (http/client_address.hpp,
    /// client_key): the TCP peer, or behind a trusted proxy the X-Forwarded-For client;
    /// "192.0.2.1" for IPv4, "2001:db8:1:2::/64" for IPv6. "" if unknown.
    std::string client_address;
    /// The TCP peer is a trusted proxy (BSOCIAL_TRUSTED_PROXIES): its X-Forwarded-For,
    /// X-Forwarded-Host and X-Forwarded-Proto headers are believed.
    bool peer_trusted = false;
    std::vector<std::string> params;  ///< path parameters, filled by the router
    std::string route;                ///< the matched route pattern, for metrics and logs

    /// First header with that (lower-case) name.
    const std::string* header(std::string_view name) const;
    /// First query parameter with that name.
    std::optional<std::string> query_param(std::string_view name) const;
};

struct response {
    unsigned status = 200;
    std::string content_type = "application/json";
    std::string body;
    header_list headers;

    void set_header(std::string name, std::string value) {
        headers.emplace_back(std::move(name), std::move(value));
    }
};

}  // namespace bsocial::http

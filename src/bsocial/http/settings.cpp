#include "bsocial/http/settings.hpp"

#include <stdexcept>

#include "bsocial/http/client_address.hpp"

namespace bsocial::http {

namespace {
void require(bool ok, const std::string& what) {
    if (!ok) throw std::invalid_argument(what);
}
}  // namespace

void server_settings::validate() const {
    require(port <= 65535, std::string("port must be between 0 and 65535 (") + port_env + ")");
    require(!bind.empty(), "bind address must not be empty (BSOCIAL_BIND)");
    require(io_threads >= 1 && io_threads <= 64, "io threads must be 1..64");
    require(header_timeout_seconds >= 1,
            "header timeout must be >= 1 second (BSOCIAL_HEADER_TIMEOUT_SECONDS)");
    require(keep_alive_timeout_seconds >= 1,
            "keep-alive timeout must be >= 1 second (BSOCIAL_KEEP_ALIVE_TIMEOUT_SECONDS)");
    require(max_connections >= 0, "max connections must be >= 0 (BSOCIAL_MAX_CONNECTIONS)");
    require(max_connections_per_client >= 1,
            "max connections per client must be >= 1 (BSOCIAL_MAX_CONNECTIONS_PER_CLIENT)");
    require(body_limit_bytes >= 1024,
            "body limit must be >= 1024 bytes (BSOCIAL_BODY_LIMIT_BYTES)");
    http::trusted_proxies{trusted_proxies};  // throws naming BSOCIAL_TRUSTED_PROXIES
}

server_options server_settings::options() const {
    server_options o;
    o.bind = bind;
    o.port = port;
    o.io_threads = io_threads;
    o.header_timeout = std::chrono::seconds(header_timeout_seconds);
    o.keep_alive_timeout = std::chrono::seconds(keep_alive_timeout_seconds);
    o.max_connections = static_cast<std::size_t>(max_connections);
    o.max_connections_per_client = static_cast<std::size_t>(max_connections_per_client);
    o.trusted = http::trusted_proxies(trusted_proxies);
    o.body_limit = static_cast<std::size_t>(body_limit_bytes);
    return o;
}

}  // namespace bsocial::http

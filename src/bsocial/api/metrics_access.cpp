#include "bsocial/api/metrics_access.hpp"

#include <stdexcept>

#include "bsocial/core/text.hpp"

namespace bsocial::api {

namespace {
bool same_in_constant_time(const std::string& a, const std::string& b) {
    if (a.size() != b.size()) return false;  // the length is no secret
    unsigned char diff = 0;
    for (std::size_t i = 0; i < a.size(); ++i)
        diff |= static_cast<unsigned char>(a[i] ^ b[i]);
    return diff == 0;
}

bool loopback(const std::string& client) {
    return client.rfind("127.", 0) == 0 || client == "::1" || client == "::/64";
}
}  // namespace

void metrics_access::validate() const {
    if (!token.empty() && token.size() < 32)
        throw std::invalid_argument(
            "the metrics token must be at least 32 characters (BSOCIAL_METRICS_TOKEN); "
            "make one with: openssl rand -hex 32");
}

bool metrics_access::allows(const http::request& req) const {
    if (!token.empty()) {
        const std::string* header = req.header("authorization");
        if (!header || header->size() < 7 || !ascii_iequals(header->substr(0, 7), "bearer "))
            return false;
        return same_in_constant_time(header->substr(7), token);
    }
    if (req.peer_trusted) return false;
    for (const char* forwarded : {"x-forwarded-for", "forwarded", "x-real-ip"})
        if (req.header(forwarded)) return false;
    return loopback(req.client_address);
}

}  // namespace bsocial::api

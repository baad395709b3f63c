#include "bsocial/kafka/security.hpp"

#include <algorithm>
#include <cctype>
#include <fstream>
#include <stdexcept>

namespace bsocial::kafka {

namespace {
std::string lower(std::string s) {
    std::transform(s.begin(), s.end(), s.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return s;
}
void require(bool ok, const std::string& what) {
    if (!ok) throw std::invalid_argument(what);
}
bool uses_sasl(const std::string& protocol) { return protocol.rfind("sasl_", 0) == 0; }
bool uses_tls(const std::string& protocol) { return protocol == "ssl" || protocol == "sasl_ssl"; }
}  // namespace

void client_security::validate() const {
    const auto p = lower(protocol);
    require(p == "plaintext" || p == "ssl" || p == "sasl_plaintext" || p == "sasl_ssl",
            "Kafka security protocol must be plaintext, ssl, sasl_plaintext or sasl_ssl "
            "(BSOCIAL_KAFKA_SECURITY_PROTOCOL)");
    require(mechanism == "SCRAM-SHA-512" || mechanism == "SCRAM-SHA-256" || mechanism == "PLAIN",
            "Kafka SASL mechanism must be PLAIN, SCRAM-SHA-512 or SCRAM-SHA-256 "
            "(BSOCIAL_KAFKA_SASL_MECHANISM)");
    if (uses_sasl(p)) {
        require(!user.empty(), "Kafka " + p + " needs a user (BSOCIAL_KAFKA_USER)");
        require(!password.empty(), "Kafka " + p + " needs a password (BSOCIAL_KAFKA_PASSWORD)");
    } else {
        require(user.empty() && password.empty(),
                "a Kafka user or password is set but the security protocol is " + p +
                    ": set BSOCIAL_KAFKA_SECURITY_PROTOCOL=sasl_ssl (or sasl_plaintext)");
    }
    require(p != "sasl_plaintext" || mechanism != "PLAIN",
            "SASL PLAIN without TLS sends the password in clear: use sasl_ssl "
            "(BSOCIAL_KAFKA_SECURITY_PROTOCOL) or a SCRAM mechanism");
    if (!ca_file.empty()) {
        require(uses_tls(p), "a Kafka CA file is set but the security protocol is " + p +
                                 " (BSOCIAL_KAFKA_CA_FILE needs ssl or sasl_ssl)");
        require(std::ifstream(ca_file).good(),
                "Kafka CA file " + ca_file + " cannot be read (BSOCIAL_KAFKA_CA_FILE)");
    }
}

std::vector<std::pair<std::string, std::string>> client_security::librdkafka_settings() const {
    const auto p = lower(protocol);
    std::vector<std::pair<std::string, std::string>> out{{"security.protocol", p}};
    if (uses_sasl(p)) {
        out.emplace_back("sasl.mechanisms", mechanism);
        out.emplace_back("sasl.username", user);
        out.emplace_back("sasl.password", password);
    }
    if (uses_tls(p)) {
        // The broker's name must match its certificate (librdkafka 2.0 default, stated here).
        out.emplace_back("ssl.endpoint.identification.algorithm", "https");
        if (!ca_file.empty()) out.emplace_back("ssl.ca.location", ca_file);
    }
    return out;
}

std::string client_security::describe_for_log() const {
    const auto p = lower(protocol);
    if (!uses_sasl(p)) return p;
    return p + " as " + user + " (" + mechanism + ")";
}

}  // namespace bsocial::kafka

// kafka::client_security: what each setting turns into for librdkafka, and the settings
// refused at start (a clear error naming the variable, never the password).
#include "bsocial/kafka/security.hpp"

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <map>
#include <stdexcept>
#include <string>

#include "bsocial/kafka/config.hpp"

namespace {

using bsocial::kafka::client_security;

std::map<std::string, std::string> settings_of(const client_security& s) {
    std::map<std::string, std::string> out;
    for (const auto& [k, v] : s.librdkafka_settings()) out[k] = v;
    return out;
}

std::string refusal(const client_security& s) {
    try {
        s.validate();
    } catch (const std::invalid_argument& e) {
        return e.what();
    }
    return {};
}

TEST(KafkaSecurity, PlaintextByDefault) {
    client_security s;
    EXPECT_EQ(refusal(s), "");
    EXPECT_EQ(settings_of(s),
              (std::map<std::string, std::string>{{"security.protocol", "plaintext"}}));
}

TEST(KafkaSecurity, SaslSslSetsMechanismUserPasswordAndCa) {
    const std::string ca = testing::TempDir() + "/bsocial-kafka-ca.pem";
    std::ofstream(ca) << "-----BEGIN CERTIFICATE-----\n";
    client_security s{.protocol = "SASL_SSL",
                      .mechanism = "PLAIN",
                      .user = "bsocial-relay",
                      .password = "s3cret-value",
                      .ca_file = ca};
    EXPECT_EQ(refusal(s), "");
    const auto m = settings_of(s);
    EXPECT_EQ(m.at("security.protocol"), "sasl_ssl");
    EXPECT_EQ(m.at("sasl.mechanisms"), "PLAIN");
    EXPECT_EQ(m.at("sasl.username"), "bsocial-relay");
    EXPECT_EQ(m.at("sasl.password"), "s3cret-value");
    EXPECT_EQ(m.at("ssl.ca.location"), ca);
    EXPECT_EQ(m.at("ssl.endpoint.identification.algorithm"), "https");
    // librdkafka takes every one of them
    EXPECT_NO_THROW(bsocial::kafka::make_conf(s, {{"bootstrap.servers", "127.0.0.1:1"}}));
    // the log form names the user, never the password
    EXPECT_EQ(s.describe_for_log(), "sasl_ssl as bsocial-relay (PLAIN)");
    std::remove(ca.c_str());
}

TEST(KafkaSecurity, RefusesIncompleteOrUnsafeSettings) {
    EXPECT_NE(refusal({.protocol = "tls"}).find("BSOCIAL_KAFKA_SECURITY_PROTOCOL"),
              std::string::npos);
    EXPECT_NE(refusal({.protocol = "sasl_ssl", .password = "p"}).find("BSOCIAL_KAFKA_USER"),
              std::string::npos);
    EXPECT_NE(refusal({.protocol = "sasl_ssl", .user = "u"}).find("BSOCIAL_KAFKA_PASSWORD"),
              std::string::npos);
    EXPECT_NE(refusal({.protocol = "sasl_ssl", .mechanism = "GSSAPI", .user = "u", .password = "p"})
                  .find("BSOCIAL_KAFKA_SASL_MECHANISM"),
              std::string::npos);
    // a password without SASL would be silently unused
    EXPECT_NE(refusal({.password = "p"}).find("sasl_ssl"), std::string::npos);
    // PLAIN without TLS sends the password in clear
    const auto clear = refusal(
        {.protocol = "sasl_plaintext", .mechanism = "PLAIN", .user = "u", .password = "secret-pw"});
    EXPECT_NE(clear.find("in clear"), std::string::npos);
    EXPECT_EQ(clear.find("secret-pw"), std::string::npos);
    EXPECT_NE(refusal({.protocol = "sasl_ssl",
                       .user = "u",
                       .password = "p",
                       .ca_file = "/nonexistent/ca.pem"})
                  .find("BSOCIAL_KAFKA_CA_FILE"),
              std::string::npos);
    EXPECT_NE(refusal({.ca_file = "/etc/hostname"}).find("needs ssl or sasl_ssl"),
              std::string::npos);
}

TEST(KafkaSecurity, DeclaresEverySettingOnce) {
    client_security s;
    std::map<std::string, std::string> seen;
    auto declare = [&](auto&, const char* flag, const char* env, const char*) {
        EXPECT_TRUE(seen.emplace(flag, env).second) << flag;
    };
    s.describe(declare);
    EXPECT_EQ(seen, (std::map<std::string, std::string>{
                        {"kafka-security-protocol", "BSOCIAL_KAFKA_SECURITY_PROTOCOL"},
                        {"kafka-sasl-mechanism", "BSOCIAL_KAFKA_SASL_MECHANISM"},
                        {"kafka-user", "BSOCIAL_KAFKA_USER"},
                        {"kafka-password", "BSOCIAL_KAFKA_PASSWORD"},
                        {"kafka-ca-file", "BSOCIAL_KAFKA_CA_FILE"}}));
}

}  // namespace

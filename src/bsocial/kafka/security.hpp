#pragma once
// How every Kafka client of bSocial (the relay's producer, the notifier's consumer, the
// telemetry indexer) reaches the brokers: plain TCP (the default, for a broker on a trusted
// network or loopback), TLS, SASL, or TLS + SASL/SCRAM. Declared once here (core/settings.hpp)
// and applied by make_conf (kafka/config.hpp), so each client gets the same settings.
// Each process has its own user (relay, notifier, telemetry), so broker ACLs give each only
// what it needs (docs/security.md).
//
// The password is read like any setting (flag or environment), but the flag puts it in argv,
// which every local user can read: deployments set BSOCIAL_KAFKA_PASSWORD. It is never logged
// (librdkafka does not print sasl.password either).

#include <string>
#include <utility>
#include <vector>

namespace bsocial::kafka {

struct client_security {
    std::string protocol = "plaintext";  ///< plaintext | ssl | sasl_plaintext | sasl_ssl
    /// PLAIN | SCRAM-SHA-512 | SCRAM-SHA-256. PLAIN by default: librdkafka before 2.6.1
    /// (Debian bookworm: 2.0.2) cannot do SCRAM with Kafka 4.x brokers (the broker refuses
    /// its proof, confluentinc/librdkafka#4895); PLAIN is only accepted over TLS (validate).
    std::string mechanism = "PLAIN";
    std::string user;
    std::string password;
    std::string ca_file;  ///< PEM CA bundle for ssl/sasl_ssl (empty: the system's store)

    /// Throws std::invalid_argument naming the setting that is wrong.
    void validate() const;

    /// The librdkafka settings these stand for (security.protocol, sasl.*, ssl.ca.location).
    std::vector<std::pair<std::string, std::string>> librdkafka_settings() const;

    /// "sasl_ssl as bsocial-relay (SCRAM-SHA-512)": for logs, never the password.
    std::string describe_for_log() const;

    template <class Declare>
    void describe(Declare& d) {
        d(protocol, "kafka-security-protocol", "BSOCIAL_KAFKA_SECURITY_PROTOCOL",
          "how Kafka clients connect: plaintext, ssl, sasl_plaintext or sasl_ssl");
        d(mechanism, "kafka-sasl-mechanism", "BSOCIAL_KAFKA_SASL_MECHANISM",
          "SASL mechanism: PLAIN (only with sasl_ssl), SCRAM-SHA-512 or SCRAM-SHA-256 (needs "
          "librdkafka >= 2.6.1 with Kafka 4.x brokers)");
        d(user, "kafka-user", "BSOCIAL_KAFKA_USER", "SASL user name");
        d(password, "kafka-password", "BSOCIAL_KAFKA_PASSWORD",
          "SASL password (set it in the environment: argv is visible to local users)");
        d(ca_file, "kafka-ca-file", "BSOCIAL_KAFKA_CA_FILE",
          "PEM CA bundle that signed the brokers' certificates (ssl, sasl_ssl)");
    }
};

}  // namespace bsocial::kafka

#pragma once
// One way to build a librdkafka configuration, for the producer (relay) and the
// consumers (notifier, telemetry): make_conf applies the connection security
// (kafka/security.hpp) first, then the client's own settings. error_log turns the errors
// librdkafka reports about the brokers (refused credentials, TLS failures, unreachable
// brokers) into log lines with their cause.

#include <librdkafka/rdkafkacpp.h>

#include <chrono>
#include <initializer_list>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <utility>

#include "bsocial/kafka/security.hpp"

namespace bsocial::kafka {

using settings = std::initializer_list<std::pair<std::string, std::string>>;

/// A global configuration with the security settings and then every setting applied.
/// Throws std::runtime_error naming the setting librdkafka refused (never its value).
std::unique_ptr<RdKafka::Conf> make_conf(const client_security& security, settings values);

/// Sets a callback object (dr_cb, event_cb, rebalance_cb...). Throws on refusal.
template <class Callback>
void set_callback(RdKafka::Conf& conf, const std::string& name, Callback* callback) {
    std::string err;
    if (conf.set(name, callback, err) != RdKafka::Conf::CONF_OK)
        throw std::runtime_error("kafka " + name + ": " + err);
}

/// Logs broker errors of one client, each distinct message at most once per `quiet`:
///   module=kafka event=broker_refused_credentials client=... as="sasl_ssl as u (...)" cause="..."
///   module=kafka event=broker_error client=... error="..."
/// Usable as the client's event_cb, or called by another EventCb (report()). Thread-safe.
class error_log final : public RdKafka::EventCb {
  public:
    error_log(std::string client, const client_security& security,
              std::chrono::seconds quiet = std::chrono::seconds(30));

    void event_cb(RdKafka::Event& event) override;
    /// Logs an EVENT_ERROR (other event types: librdkafka's own log lines at debug level).
    void report(RdKafka::Event& event);
    /// The last error reported ("" when none yet).
    std::string last_error() const;
    /// Forgets the last error (the client works again); a new one is logged at once.
    void forget();
    /// Whether the last error was the broker refusing the credentials.
    bool refused() const;

  private:
    std::string client_;
    std::string as_;
    std::string hint_;  ///< added to a refusal when the cause may be the client library
    std::chrono::seconds quiet_;
    mutable std::mutex mutex_;
    std::string last_error_;
    bool refused_ = false;
    std::chrono::steady_clock::time_point last_logged_{};
};

}  // namespace bsocial::kafka

#include "bsocial/kafka/config.hpp"

#include <spdlog/spdlog.h>

#include <stdexcept>

namespace bsocial::kafka {

namespace {
void apply(RdKafka::Conf& conf, const std::string& key, const std::string& value) {
    std::string err;
    if (conf.set(key, value, err) != RdKafka::Conf::CONF_OK)
        throw std::runtime_error("kafka setting " + key + ": " + err);
}
}  // namespace

std::unique_ptr<RdKafka::Conf> make_conf(const client_security& security, settings values) {
    std::unique_ptr<RdKafka::Conf> conf(RdKafka::Conf::create(RdKafka::Conf::CONF_GLOBAL));
    for (const auto& [key, value] : security.librdkafka_settings()) apply(*conf, key, value);
    for (const auto& [key, value] : values) apply(*conf, key, value);
    return conf;
}

error_log::error_log(std::string client, const client_security& security,
                     std::chrono::seconds quiet)
    : client_(std::move(client)), as_(security.describe_for_log()), quiet_(quiet) {
    // librdkafka before 2.6.1 answers SCRAM with a final message that Kafka 4.x brokers
    // refuse as "invalid credentials" even when they are right (confluentinc/librdkafka#4895).
    if (security.mechanism.rfind("SCRAM", 0) == 0 && RdKafka::version() < 0x020601ff)
        hint_ = " hint=\"librdkafka " + RdKafka::version_str() +
                " SCRAM is refused by Kafka 4.x brokers even with the right password (fixed in "
                "2.6.1): use BSOCIAL_KAFKA_SASL_MECHANISM=PLAIN over sasl_ssl\"";
}

void error_log::event_cb(RdKafka::Event& event) { report(event); }

void error_log::report(RdKafka::Event& event) {
    if (event.type() == RdKafka::Event::EVENT_LOG) {
        spdlog::debug("module=kafka event=client_log client={} facility={} message=\"{}\"", client_,
                      event.fac(), event.str());
        return;
    }
    if (event.type() != RdKafka::Event::EVENT_ERROR) return;
    const bool refused = event.err() == RdKafka::ERR__AUTHENTICATION ||
                         event.err() == RdKafka::ERR_SASL_AUTHENTICATION_FAILED;
    const std::string text = RdKafka::err2str(event.err()) + ": " + event.str();
    // The same error again, told apart from the last only by librdkafka's "(after 301ms in
    // state AUTH_REQ, 1 identical error(s) suppressed)", is not logged again before `quiet`.
    const auto same_part = [](const std::string& s) { return s.substr(0, s.find(" (after ")); };
    const auto now = std::chrono::steady_clock::now();
    {
        std::lock_guard lock(mutex_);
        const bool repeated =
            same_part(text) == same_part(last_error_) && now - last_logged_ < quiet_;
        last_error_ = text;
        refused_ = refused;
        if (repeated) return;
        last_logged_ = now;
    }
    if (refused)
        spdlog::error(
            "module=kafka event=broker_refused_credentials client={} as=\"{}\" cause=\"{}\" "
            "action=retry{}",
            client_, as_, text, hint_);
    else
        spdlog::warn("module=kafka event=broker_error client={} error=\"{}\"{}", client_, text,
                     event.fatal() ? " fatal=true" : "");
}

std::string error_log::last_error() const {
    std::lock_guard lock(mutex_);
    return last_error_;
}

void error_log::forget() {
    std::lock_guard lock(mutex_);
    last_error_.clear();
    refused_ = false;
}

bool error_log::refused() const {
    std::lock_guard lock(mutex_);
    return refused_;
}

}  // namespace bsocial::kafka

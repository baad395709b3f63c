#pragma once
// One way to build a librdkafka configuration, for the producer (relay) and the
// consumers (notifier, telemetry).

#include <librdkafka/rdkafkacpp.h>

#include <initializer_list>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>

namespace bsocial::kafka {

using settings = std::initializer_list<std::pair<std::string, std::string>>;

/// A global configuration with every setting applied. Throws std::runtime_error naming
/// the setting librdkafka refused.
std::unique_ptr<RdKafka::Conf> make_conf(settings values);

/// Sets a callback object (dr_cb, event_cb, rebalance_cb...). Throws on refusal.
template <class Callback>
void set_callback(RdKafka::Conf& conf, const std::string& name, Callback* callback) {
    std::string err;
    if (conf.set(name, callback, err) != RdKafka::Conf::CONF_OK)
        throw std::runtime_error("kafka " + name + ": " + err);
}

}  // namespace bsocial::kafka

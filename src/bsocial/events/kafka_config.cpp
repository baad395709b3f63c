#include "bsocial/events/kafka_config.hpp"

#include <stdexcept>

namespace bsocial::events {

std::unique_ptr<RdKafka::Conf> make_kafka_conf(kafka_settings settings) {
    std::unique_ptr<RdKafka::Conf> conf(RdKafka::Conf::create(RdKafka::Conf::CONF_GLOBAL));
    std::string err;
    for (const auto& [key, value] : settings)
        if (conf->set(key, value, err) != RdKafka::Conf::CONF_OK)
            throw std::runtime_error("kafka setting " + key + ": " + err);
    return conf;
}

}  // namespace bsocial::events

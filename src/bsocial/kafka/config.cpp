#include "bsocial/kafka/config.hpp"

#include <stdexcept>

namespace bsocial::kafka {

std::unique_ptr<RdKafka::Conf> make_conf(settings values) {
    std::unique_ptr<RdKafka::Conf> conf(RdKafka::Conf::create(RdKafka::Conf::CONF_GLOBAL));
    std::string err;
    for (const auto& [key, value] : values)
        if (conf->set(key, value, err) != RdKafka::Conf::CONF_OK)
            throw std::runtime_error("kafka setting " + key + ": " + err);
    return conf;
}

}  // namespace bsocial::kafka

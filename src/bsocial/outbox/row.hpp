#pragma once
// One outbox row on its way to Kafka. Plain values only (no SQL), so that the Kafka
// publisher (kafka/outbox_publisher.hpp) can take rows without linking the SQL stack.

#include <cstdint>
#include <string>

namespace bsocial::outbox {

struct outbox_row {
    std::int64_t id = 0;
    std::string event_id;
    std::string topic;
    std::string key;
    std::string type;
    std::string payload;
    std::int64_t created_at_ms = 0;
};

}  // namespace bsocial::outbox

#include "bsocial/telemetry/document.hpp"

#include <algorithm>
#include <array>
#include <boost/json.hpp>
#include <optional>
#include <stdexcept>

#include "bsocial/core/time_format.hpp"
#include "bsocial/core/utf8.hpp"
#include "bsocial/events/envelope.hpp"

namespace bsocial::telemetry {

namespace json = boost::json;

namespace {

/// A message that cannot become an event document; caught in to_index_action.
struct poison : std::runtime_error {
    using std::runtime_error::runtime_error;
};

struct event_shape {
    std::string_view type;
    /// Required `data` fields, all strings. Those copied to the top level of the document
    /// are listed in `copied`: the ids and the username, which queries, tests and people
    /// look up (the rest - email, names, content, registered_at = occurred_at... - stay in
    /// `data` only, stored verbatim and not indexed: docs/telemetry.md, "Index layout").
    std::vector<std::string_view> required;
    std::vector<std::string_view> copied;
};

// docs/events.md, v1. A new type or field is added here and in index_templates.cpp.
const std::vector<event_shape>& shapes() {
    static const std::vector<event_shape> all = {
        {"user.registered",
         {"user_id", "username", "email", "first_name", "last_name", "registered_at"},
         {"user_id", "username"}},
        {"user.logged_in",
         {"user_id", "username", "email", "logged_in_at"},
         {"user_id", "username"}},
        {"user.logged_out", {"user_id", "username", "logged_out_at"}, {"user_id", "username"}},
        {"post.created",
         {"post_id", "user_id", "username", "email", "content", "created_at"},
         {"post_id", "user_id", "username"}},
        {"comment.created",
         {"comment_id", "post_id", "post_author_id", "user_id", "username", "email", "content",
          "created_at"},
         {"comment_id", "post_id", "post_author_id", "user_id", "username"}},
        {"post.deleted",
         {"post_id", "user_id", "username", "deleted_at"},
         {"post_id", "user_id", "username"}},
        {"comment.deleted",
         {"comment_id", "post_id", "post_author_id", "user_id", "username", "deleted_at"},
         {"comment_id", "post_id", "post_author_id", "user_id", "username"}},
        {"follow.created",
         {"follower_id", "follower_username", "followee_id", "followee_username", "at"},
         {"follower_id", "followee_id"}},
        {"follow.deleted",
         {"follower_id", "follower_username", "followee_id", "followee_username", "at"},
         {"follower_id", "followee_id"}},
    };
    return all;
}

bool is_id_field(std::string_view name) {
    return name.size() > 3 && name.substr(name.size() - 3) == "_id";
}

bool all_digits(std::string_view s) {
    return !s.empty() && s.size() <= 19 &&
           std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

const json::string& require_string(const json::object& o, std::string_view key,
                                   std::string_view where) {
    const auto* v = o.if_contains(key);
    if (!v) throw poison(std::string(where) + " lacks \"" + std::string(key) + "\"");
    if (!v->is_string())
        throw poison(std::string(where) + " \"" + std::string(key) + "\" is not a string");
    return v->get_string();
}

json::object kafka_origin(const source_message& msg) {
    return {{"topic", msg.topic},
            {"partition", msg.partition},
            {"offset", msg.offset},
            {"key", sanitize_utf8(msg.key)}};
}

std::optional<std::int64_t> epoch_ms_of(std::string_view occurred_at) {
    if (const auto ms = parse_rfc3339_ms(occurred_at)) return *ms;
    if (all_digits(occurred_at) && occurred_at.size() <= 15) {  // epoch_millis, as the mapping
        const auto ms = std::stoll(std::string(occurred_at));
        if (ms <= 253'402'300'799'999) return ms;  // up to 9999-12-31
    }
    return std::nullopt;
}

std::int64_t epoch_ms_of(std::string_view occurred_at, std::int64_t fallback) {
    return epoch_ms_of(occurred_at).value_or(fallback);
}

constexpr std::int64_t day_ms = 86'400'000;

std::int64_t floor_div(std::int64_t a, std::int64_t b) {
    return a / b - ((a % b != 0) && ((a < 0) != (b < 0)));
}

/// The entity document of a post/comment event (see index_names::entities), if any.
std::optional<index_action> entity_action(const std::string& type, const json::object& doc,
                                          const index_names& indices) {
    if (indices.entities.empty()) return std::nullopt;
    const bool post = type == "post.created" || type == "post.deleted";
    const bool comment = type == "comment.created" || type == "comment.deleted";
    if (!post && !comment) return std::nullopt;
    const bool deleted = type == "post.deleted" || type == "comment.deleted";
    json::object e;
    e["kind"] = post ? "post" : "comment";
    for (const auto* field : {"post_id", "comment_id", "post_author_id", "user_id"})
        if (const auto* v = doc.if_contains(field)) e[field] = *v;
    e[deleted ? "deleted_at" : "created_at"] = doc.at("occurred_at");
    e["deleted"] = deleted;
    e["event_id"] = doc.at("event_id");
    std::string id = post ? "post:" + std::string(doc.at("post_id").as_string())
                          : "comment:" + std::string(doc.at("comment_id").as_string());
    index_action a{indices.entities, std::move(id), json::serialize(e), false, {}};
    // A creation never overwrites (409 when the deletion or an earlier delivery is there);
    // a deletion always does, so the document ends deleted whatever the order.
    a.op = deleted ? "index" : "create";
    return a;
}

std::vector<index_action> event_actions(const source_message& msg, const index_names& indices,
                                        std::int64_t now_ms) {
    if (!msg.has_payload) throw poison("empty message (tombstone)");
    const auto reading = events::parse_envelope(msg.payload);
    if (!reading.value) throw poison(reading.error);
    const auto& envelope = *reading.value;
    const std::string& type = envelope.type;
    const auto& data = envelope.data;
    const auto shape = std::find_if(shapes().begin(), shapes().end(),
                                    [&](const event_shape& s) { return s.type == type; });
    if (shape == shapes().end()) throw poison("unknown event type \"" + type + "\"");

    json::object doc;
    doc["event_id"] = envelope.id;
    doc["type"] = type;
    doc["version"] = 1;
    // The date itself is checked by Elasticsearch against the mapping; a refusal there
    // sends the message to the dead letters too (see indexer.cpp).
    doc["occurred_at"] = envelope.occurred_at;
    doc["ingested_at"] = format_rfc3339_ms(now_ms);
    for (const auto field : shape->required) {
        const auto& value = require_string(data, field, "data");
        if (is_id_field(field) && !all_digits(value))
            throw poison("data \"" + std::string(field) + "\" is not an id (digits)");
    }
    for (const auto field : shape->copied) doc[field] = data.at(field);
    doc["data"] = data;
    doc["kafka"] = kafka_origin(msg);
    std::vector<index_action> out;
    auto entity = entity_action(type, doc, indices);
    out.push_back(index_action{event_index(indices.events, envelope.occurred_at, now_ms),
                               envelope.id, json::serialize(doc), false, {}});
    if (entity) out.push_back(std::move(*entity));
    // A login also marks its user's login-day documents (q1). An occurred_at that is not a
    // date makes none: its event document is refused by the mapping (a dead letter).
    if (type == "user.logged_in" && !indices.logins.empty())
        if (const auto at = epoch_ms_of(envelope.occurred_at))
            for (auto& a : login_day_actions(indices.logins, doc.at("user_id").as_string(), *at))
                out.push_back(std::move(a));
    return out;
}

}  // namespace

std::vector<index_action> login_day_actions(std::string_view logins, std::string_view user_id,
                                            std::int64_t at_ms) {
    const auto day = floor_div(at_ms, day_ms);
    const auto slot = static_cast<int>((at_ms - day * day_ms) / login_slot_ms);  // 0..47
    std::vector<index_action> out;
    for (const bool next : {false, true}) {
        const auto d = day + (next ? 1 : 0);
        const auto date = format_rfc3339_ms(d * day_ms).substr(0, 10);  // YYYY-MM-DD
        index_action a;
        a.index = std::string(logins) + "-" + date.substr(0, 4) + "." + date.substr(5, 2);
        a.id = std::string(user_id) + ":" + date;
        // (U, D): b<s+1>..b48, logged in before each later slot; (U, D+1): a0..a<s>, logged
        // in on the day before at or after each earlier slot.
        if (!next)
            a.login_day.b_from = slot + 1;
        else
            a.login_day.a_to = slot;
        a.source = login_day_source(a.id, a.login_day);
        a.op = "update";
        out.push_back(std::move(a));
    }
    return out;
}

std::string login_day_source(std::string_view id, const login_day_flags& flags) {
    const auto colon = id.rfind(':');
    json::object doc;
    doc["user_id"] = id.substr(0, colon);
    doc["day"] = colon == std::string_view::npos ? std::string_view{} : id.substr(colon + 1);
    for (int k = std::max(flags.b_from, 1); k <= login_slots; ++k)
        doc["b" + std::to_string(k)] = true;
    for (int k = 0; k <= std::min(flags.a_to, login_slots - 1); ++k)
        doc["a" + std::to_string(k)] = true;
    return json::serialize(json::object{{"doc", std::move(doc)}, {"doc_as_upsert", true}});
}

login_day_flags login_day_memory::known(const std::string& id) {
    const auto it = by_id_.find(id);
    if (it == by_id_.end()) return {};
    order_.splice(order_.begin(), order_, it->second);
    return it->second->second;
}

void login_day_memory::remember(const std::string& id, const login_day_flags& flags) {
    if (capacity_ == 0 || flags.empty()) return;
    if (const auto it = by_id_.find(id); it != by_id_.end()) {
        it->second->second.merge(flags);
        order_.splice(order_.begin(), order_, it->second);
        return;
    }
    order_.emplace_front(id, flags);
    by_id_.emplace(id, order_.begin());
    if (by_id_.size() > capacity_) {
        by_id_.erase(order_.back().first);
        order_.pop_back();
    }
}

void login_day_memory::forget_all() {
    by_id_.clear();
    order_.clear();
}

std::string event_index(std::string_view base, std::string_view occurred_at,
                        std::int64_t now_ms) {
    // An occurred_at we cannot read goes to the current month, where the mapping refuses it
    // too (a dead letter, "refused by Elasticsearch (400)").
    const auto utc = format_rfc3339_ms(epoch_ms_of(occurred_at, now_ms));  // YYYY-MM-...
    return std::string(base) + "-" + utc.substr(0, 4) + "." + utc.substr(5, 2);
}

std::vector<index_action> to_index_actions(const source_message& msg, const index_names& indices,
                                           std::int64_t now_ms) {
    try {
        return event_actions(msg, indices, now_ms);
    } catch (const poison& p) {
        return {dead_letter_action(msg, p.what(), indices, now_ms)};
    }
}

index_action to_index_action(const source_message& msg, const index_names& indices,
                             std::int64_t now_ms) {
    return to_index_actions(msg, indices, now_ms).front();
}

index_action dead_letter_action(const source_message& msg, std::string_view reason,
                                const index_names& indices, std::int64_t now_ms) {
    // A huge payload is cut: the dead letter is for a human to look at, Kafka keeps the rest.
    constexpr std::size_t max_payload = 32 * 1024;
    json::object doc;
    doc["reason"] = sanitize_utf8(reason.substr(0, 2000));
    doc["failed_at"] = format_rfc3339_ms(now_ms);
    doc["payload"] = sanitize_utf8(std::string_view(msg.payload).substr(0, max_payload));
    doc["payload_bytes"] = msg.payload.size();
    doc["kafka"] = kafka_origin(msg);
    std::string id =
        msg.topic + ":" + std::to_string(msg.partition) + ":" + std::to_string(msg.offset);
    return index_action{indices.dead_letter, std::move(id), json::serialize(doc), true,
                        std::string(reason)};
}

std::string sanitize_utf8(std::string_view s) {
    if (is_valid_utf8(s)) return std::string(s);
    std::string out;
    out.reserve(s.size());
    std::size_t i = 0;
    while (i < s.size()) {
        const auto c = static_cast<unsigned char>(s[i]);
        std::size_t len = c < 0x80           ? 1
                          : (c >> 5) == 0x6  ? 2
                          : (c >> 4) == 0xE  ? 3
                          : (c >> 3) == 0x1E ? 4
                                             : 0;
        if (len != 0 && i + len <= s.size() && is_valid_utf8(s.substr(i, len))) {
            out.append(s.substr(i, len));
            i += len;
        } else {
            out.append("\xEF\xBF\xBD");  // U+FFFD REPLACEMENT CHARACTER
            ++i;
        }
    }
    return out;
}

}  // namespace bsocial::telemetry

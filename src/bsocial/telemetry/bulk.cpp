#include "bsocial/telemetry/bulk.hpp"

#include <boost/json.hpp>
#include <stdexcept>

namespace bsocial::telemetry {

namespace json = boost::json;

std::string bulk_body(const std::vector<const index_action*>& items) {
    std::string out;
    std::size_t size = 0;
    for (const auto* item : items) size += item->source.size() + item->id.size() + 64;
    out.reserve(size);
    for (const auto* item : items) {
        json::object meta{{"_index", item->index}, {"_id", item->id}};
        // A partial update read-modify-writes its document: two writers at once (a
        // rebalance's overlap) conflict; the shard retries it on the fresh version.
        if (item->op == "update") meta["retry_on_conflict"] = 5;
        out += json::serialize(json::object{{item->op, std::move(meta)}});
        out += '\n';
        out += item->source;  // compact JSON: holds no raw newline
        out += '\n';
    }
    return out;
}

item_outcome classify_status(int status) {
    if (status >= 200 && status < 300) return item_outcome::indexed;
    if (status == 409) return item_outcome::duplicate;
    if (status == 429 || status >= 500 || status == 0) return item_outcome::retry;
    return item_outcome::rejected;
}

std::vector<item_result> parse_bulk_response(std::string_view body, std::size_t expected) {
    boost::system::error_code ec;
    const auto parsed = json::parse(body, ec);
    if (ec || !parsed.is_object()) throw std::runtime_error("bulk response is not a JSON object");
    const auto& root = parsed.get_object();
    const auto* items = root.if_contains("items");
    if (!items || !items->is_array()) throw std::runtime_error("bulk response has no items");
    const auto& list = items->get_array();
    if (list.size() != expected)
        throw std::runtime_error("bulk response has " + std::to_string(list.size()) +
                                 " items for " + std::to_string(expected) + " sent");
    std::vector<item_result> results;
    results.reserve(list.size());
    for (const auto& entry : list) {
        // {"create": {"_index":..., "_id":..., "status": 201, "error": {...}}}
        if (!entry.is_object() || entry.get_object().size() != 1)
            throw std::runtime_error("bulk response item is not {action: {...}}");
        const auto& body_value = entry.get_object().begin()->value();
        if (!body_value.is_object()) throw std::runtime_error("bulk response item malformed");
        const auto& item = body_value.get_object();
        const auto* status = item.if_contains("status");
        if (!status || !status->is_number()) throw std::runtime_error("bulk item has no status");
        item_result r;
        r.status = static_cast<int>(status->to_number<std::int64_t>());
        r.outcome = classify_status(r.status);
        // 409 to an update is a version conflict left after its retries, not "already
        // there": it has not been applied, so it is sent again.
        if (r.status == 409 && entry.get_object().begin()->key() == "update")
            r.outcome = item_outcome::retry;
        if (const auto* error = item.if_contains("error")) {
            if (error->is_object()) {
                const auto& e = error->get_object();
                const auto* type = e.if_contains("type");
                const auto* reason = e.if_contains("reason");
                r.error = (type && type->is_string() ? std::string(type->get_string()) : "error");
                if (reason && reason->is_string())
                    r.error += ": " + std::string(reason->get_string());
            } else if (error->is_string()) {
                r.error = error->get_string();
            }
        }
        results.push_back(std::move(r));
    }
    // `errors` says whether any item failed; it must agree with the statuses.
    const auto* errors = root.if_contains("errors");
    if (errors && errors->is_bool() && !errors->get_bool()) {
        for (const auto& r : results)
            if (r.outcome != item_outcome::indexed)
                throw std::runtime_error("bulk response says no errors but an item failed");
    }
    return results;
}

}  // namespace bsocial::telemetry

#include "bsocial/events/envelope.hpp"

#include <boost/json/parse.hpp>

#include "bsocial/core/utf8.hpp"

namespace bsocial::events {

namespace json = boost::json;

namespace {
/// The string at `key`, or nullptr with `error` set.
const json::string* envelope_string(const json::object& o, std::string_view key,
                                    std::string& error) {
    const auto* v = o.if_contains(key);
    if (!v)
        error = "envelope lacks \"" + std::string(key) + "\"";
    else if (!v->is_string())
        error = "envelope \"" + std::string(key) + "\" is not a string";
    return v && v->is_string() ? &v->get_string() : nullptr;
}
}  // namespace

envelope_reading parse_envelope(std::string_view payload) {
    envelope_reading r;
    if (!is_valid_utf8(payload)) {
        r.error = "payload is not UTF-8";
        return r;
    }
    boost::system::error_code ec;
    const json::value parsed = json::parse(payload, ec);
    if (ec) {
        r.error = "payload is not JSON: " + ec.message();
        return r;
    }
    if (!parsed.is_object()) {
        r.error = "payload is not a JSON object";
        return r;
    }
    const auto& o = parsed.get_object();
    if (const auto* t = o.if_contains("type"); t && t->is_string())
        r.type = std::string(t->get_string());

    const auto* id = envelope_string(o, "id", r.error);
    if (!id) return r;
    // Elasticsearch caps _id at 512 bytes; real ids are 36-character UUIDs.
    if (id->empty() || id->size() > 128) {
        r.error = "envelope id is empty or too long";
        return r;
    }
    const auto* type = envelope_string(o, "type", r.error);
    if (!type) return r;
    const auto* version = o.if_contains("version");
    if (!version || !version->is_int64() || version->get_int64() != 1) {
        r.error = "unsupported envelope version (expected 1)";
        return r;
    }
    const auto* occurred_at = envelope_string(o, "occurred_at", r.error);
    if (!occurred_at) return r;
    const auto* data = o.if_contains("data");
    if (!data || !data->is_object()) {
        r.error = "envelope data is not an object";
        return r;
    }
    r.value = envelope{std::string(*id), std::string(*type), std::string(*occurred_at),
                       data->get_object()};
    return r;
}

}  // namespace bsocial::events

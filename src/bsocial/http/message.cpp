#include "bsocial/http/message.hpp"

namespace bsocial::http {

const std::string* request::header(std::string_view name) const {
    for (const auto& [k, v] : headers)
        if (k == name) return &v;
    return nullptr;
}

std::optional<std::string> request::query_param(std::string_view name) const {
    for (const auto& [k, v] : query)
        if (k == name) return v;
    return std::nullopt;
}

}  // namespace bsocial::http

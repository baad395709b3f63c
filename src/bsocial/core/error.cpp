#include "bsocial/core/error.hpp"

namespace bsocial {

const char* to_string(error_code code) noexcept {
    switch (code) {
        case error_code::unauthorized:
            return "unauthorized";
        case error_code::invalid_credentials:
            return "invalid_credentials";
        case error_code::forbidden_origin:
            return "forbidden_origin";
        case error_code::not_found:
            return "not_found";
        case error_code::already_exists:
            return "already_exists";
        case error_code::validation_failed:
            return "validation_failed";
        case error_code::rate_limited:
            return "rate_limited";
        case error_code::unavailable:
            return "unavailable";
        case error_code::internal_error:
            return "internal_error";
    }
    return "internal_error";  // unreachable: the switch is exhaustive
}

}  // namespace bsocial

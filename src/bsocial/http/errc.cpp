#include "bsocial/http/errc.hpp"

namespace bsocial::http {

const char* to_string(errc code) noexcept {
    switch (code) {
        case errc::bad_request:
            return "bad_request";
        case errc::malformed_json:
            return "malformed_json";
        case errc::unsupported_media_type:
            return "unsupported_media_type";
        case errc::method_not_allowed:
            return "method_not_allowed";
        case errc::payload_too_large:
            return "payload_too_large";
        case errc::headers_too_large:
            // The wire code of any request over a size limit; the status (431) tells which.
            return "payload_too_large";
        case errc::upgrade_required:
            return "upgrade_required";
    }
    return "bad_request";  // unreachable: the switch is exhaustive
}

}  // namespace bsocial::http

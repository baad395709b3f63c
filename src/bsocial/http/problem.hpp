#pragma once
// The ONE place that maps an error code to an HTTP status and a JSON problem body:
// {"error":{"code","message","fields"?}}. Both kinds of code: the domain's
// (bsocial::error_code, core/error.hpp) and the transport's (http::errc, http/errc.hpp).

#include "bsocial/core/error.hpp"
#include "bsocial/http/errc.hpp"
#include "bsocial/http/message.hpp"

namespace bsocial::http {

unsigned status_of(error_code code) noexcept;
unsigned status_of(errc code) noexcept;

response problem_response(const bsocial::error& e);
response problem_response(const transport_error& e);

}  // namespace bsocial::http

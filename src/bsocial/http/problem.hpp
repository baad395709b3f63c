#pragma once
// The ONE place that maps an error_code to an HTTP status and a JSON problem body:
// {"error":{"code","message","fields"?}}.

#include "bsocial/core/error.hpp"
#include "bsocial/http/message.hpp"

namespace bsocial::http {

unsigned status_of(error_code code) noexcept;

response problem_response(const bsocial::error& e);

}  // namespace bsocial::http

#pragma once
// The typed error every domain function throws for bad input or a refused action: domain
// codes only. What is wrong with a request as HTTP (its form, method, size) is
// http::errc (http/errc.hpp). The HTTP layer maps both to a status and a JSON problem body
// in ONE place (http/problem.cpp); nothing else decides statuses.

#include <map>
#include <stdexcept>
#include <string>

namespace bsocial {

enum class error_code {
    unauthorized,
    invalid_credentials,
    forbidden_origin,
    not_found,
    already_exists,
    validation_failed,
    rate_limited,
    unavailable,
    internal_error,
};

/// Field name -> why it was refused (e.g. {"password": "must be at least 8 characters"}).
using field_errors = std::map<std::string, std::string>;

class error : public std::runtime_error {
  public:
    error(error_code code, std::string message, field_errors fields = {})
        : std::runtime_error(std::move(message)), code_(code), fields_(std::move(fields)) {}

    error_code code() const noexcept { return code_; }
    const field_errors& fields() const noexcept { return fields_; }

    /// Seconds the client should wait (only for rate_limited).
    long retry_after_seconds = 0;

  private:
    error_code code_;
    field_errors fields_;
};

/// The 400 answer to a paging cursor that is not one: validation_failed, "invalid cursor".
inline error invalid_cursor() {
    return error(error_code::validation_failed, "invalid cursor", {{"cursor", "is invalid"}});
}

/// Stable snake_case name of a code, as sent in {"error":{"code":...}}.
const char* to_string(error_code code) noexcept;

}  // namespace bsocial

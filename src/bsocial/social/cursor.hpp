#pragma once
// Opaque keyset cursors. A cursor names the last item of a page; the next page starts
// strictly after it. Encoded as base64url so clients treat it as a token, versioned so
// the format can change.

#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>

#include "bsocial/core/error.hpp"

namespace bsocial::social {

struct time_cursor {
    std::int64_t created_at = 0;
    std::int64_t id = 0;
};

/// Where a newest-first page starts: above every (created_at, id), i.e. the first page.
inline constexpr time_cursor newest_first_start{std::numeric_limits<std::int64_t>::max(),
                                                std::numeric_limits<std::int64_t>::max()};

std::string encode_cursor(const time_cursor& c);
std::string encode_cursor(std::string_view name);

/// nullopt when the text is not a cursor of that kind.
std::optional<time_cursor> decode_time_cursor(std::string_view text);
std::optional<std::string> decode_name_cursor(std::string_view text);

/// The 400 answer to a cursor that is not one (core/error.hpp).
using bsocial::invalid_cursor;

}  // namespace bsocial::social

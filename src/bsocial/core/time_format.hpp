#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace bsocial {

/// RFC 3339 UTC with milliseconds: 2026-11-28T10:15:30.123Z (the format of api.md and events.md).
std::string format_rfc3339_ms(std::int64_t epoch_ms);

/// Epoch ms of an RFC 3339 date-time (section 5.6): YYYY-MM-DDTHH:MM:SS, an optional
/// fraction of any length (cut to ms), then Z or +HH:MM / -HH:MM. T and Z may be lower case.
/// nullopt for anything else, out-of-range fields (month 13, Feb 30, 24:00, leap second 60)
/// included. Reads back every string format_rfc3339_ms writes.
std::optional<std::int64_t> parse_rfc3339_ms(std::string_view s);

}  // namespace bsocial

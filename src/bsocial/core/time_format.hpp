#pragma once

#include <cstdint>
#include <string>

namespace bsocial {

/// RFC 3339 UTC with milliseconds: 2026-11-28T10:15:30.123Z (the format of api.md and events.md).
std::string format_rfc3339_ms(std::int64_t epoch_ms);

}  // namespace bsocial

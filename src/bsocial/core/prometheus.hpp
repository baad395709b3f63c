#pragma once
// The Prometheus text format of one unlabelled metric. Each module renders its own
// metrics with it (names and help next to the counters they read); /metrics (api) only
// concatenates them.

#include <string>
#include <string_view>

namespace bsocial {

/// HELP, TYPE and the sample. `type` is "counter" or "gauge". Whole numbers are printed
/// exactly (1000000, not 1e+06), others with 9 significant digits.
std::string prometheus_metric(std::string_view name, std::string_view type, std::string_view help,
                              double value);

}  // namespace bsocial

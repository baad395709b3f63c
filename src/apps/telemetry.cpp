#include "apps/telemetry.hpp"

namespace bsocial::apps {

void add_telemetry_commands(CLI::App&, std::function<int()>&) {}

}  // namespace bsocial::apps

#include "apps/notifier.hpp"

namespace bsocial::apps {

void add_notifier_command(CLI::App&, std::function<int()>&) {}

}  // namespace bsocial::apps

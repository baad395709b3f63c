#pragma once
// Settings are declared once, by the module that owns them. A module's options struct
// lists each of its settings in one `describe` member template: the field, its flag (without
// the dashes), its environment variable and its help. The field's initializer is the default.
//
//   struct write_limits {
//       int posts_per_minute = 30;
//       void validate() const;  // throws std::invalid_argument naming the bad setting
//       template <class Declare>
//       void describe(Declare& d) {
//           d(posts_per_minute, "posts-per-minute", "BSOCIAL_POSTS_PER_MINUTE",
//             "posts one user may publish per minute (0 = no limit)");
//       }
//   };
//
// Nothing here knows how settings are read: apps/settings_cli.hpp binds the structs a
// subcommand needs to its flags and environment; the README's table is rendered from the
// same declarations. A `Declare` is any callable taking (T& field, const char* flag,
// const char* env, const char* help); list settings (std::vector) are comma-separated.

#include <concepts>

namespace bsocial {

/// Something whose settings can be declared: it has a `describe(Declare&)` member template.
template <class Options, class Declare>
concept describable = requires(Options& options, Declare& declare) { options.describe(declare); };

}  // namespace bsocial

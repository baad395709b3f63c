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
// A flag of nullptr: the setting is read from the environment only (a secret never
// travels in argv). An environment variable of nullptr: a command-line flag only.
//
// Nothing here knows how settings are read: apps/settings_cli.hpp binds the structs a
// subcommand needs to its flags and environment; the README's table is rendered from the
// same declarations (apps/settings_table.hpp). A `Declare` is any callable taking (T& field,
// const char* flag, const char* env, const char* help); list settings (std::vector) are
// comma-separated.
//
// A subcommand's settings are a `settings_group` of the modules' structs it needs: it
// declares and validates its parts in order, and hands each part to its owner.

#include <concepts>
#include <tuple>
#include <type_traits>

namespace bsocial {

/// Something whose settings can be declared: it has a `describe(Declare&)` member template.
template <class Options, class Declare>
concept describable = requires(Options& options, Declare& declare) { options.describe(declare); };

/// The settings of one process: its modules' structs, declared and validated in order.
///
///   using relay_settings = settings_group<log_settings, store::database_settings, ...>;
///   settings.get<store::database_settings>().url()
template <class... Parts>
struct settings_group {
    std::tuple<Parts...> parts;

    /// Whether Part is one of the parts.
    template <class Part>
    static constexpr bool has = (std::is_same_v<Part, Parts> || ...);

    template <class Part>
    Part& get() {
        return std::get<Part>(parts);
    }
    template <class Part>
    const Part& get() const {
        return std::get<Part>(parts);
    }

    template <class Declare>
    void describe(Declare& d) {
        std::apply([&d](auto&... part) { (part.describe(d), ...); }, parts);
    }
    /// Every part's validate(), in order: the first bad setting throws.
    void validate() const {
        std::apply([](const auto&... part) { (part.validate(), ...); }, parts);
    }
};

}  // namespace bsocial

#pragma once
// Binds a module's options struct (core/settings.hpp) to a subcommand's flags and
// environment variables: one CLI11 option per declared setting, the struct's initializer
// as the default, std::vector settings comma-separated. A setting without a flag is read
// from its environment variable here, when bound; one without a variable is a flag only.

#include <CLI/CLI.hpp>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <vector>

#include "bsocial/core/settings.hpp"

namespace bsocial::apps {

namespace detail {
template <class T>
struct is_vector : std::false_type {};
template <class T>
struct is_vector<std::vector<T>> : std::true_type {};

/// A setting without a flag (a single value): its variable, when set.
template <class T>
void read_environment(T& field, const char* env) {
    if constexpr (is_vector<T>::value) {
        throw std::logic_error(std::string("a list setting needs a flag: ") + env);
    } else if (const char* value = std::getenv(env)) {
        if (!CLI::detail::lexical_cast(std::string(value), field))
            throw std::invalid_argument(std::string("cannot read ") + env + "=" + value);
    }
}

struct cli_binder {
    CLI::App& cmd;
    template <class T>
    void operator()(T& field, const char* flag, const char* env, const char* help) const {
        if (flag == nullptr) return read_environment(field, env);
        auto* option = cmd.add_option(std::string("--") + flag, field, help);
        if (env != nullptr) option->envname(env);
        if constexpr (is_vector<T>::value) option->delimiter(',');
        else option->capture_default_str();
    }
};
}  // namespace detail

/// Adds every setting `options` declares to `cmd`; parsing fills `options`.
template <class Options>
    requires describable<Options, detail::cli_binder>
void bind_settings(CLI::App& cmd, Options& options) {
    detail::cli_binder binder{cmd};
    options.describe(binder);
}

}  // namespace bsocial::apps

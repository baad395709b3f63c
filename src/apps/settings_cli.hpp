#pragma once
// Binds a module's options struct (core/settings.hpp) to a subcommand's flags and
// environment variables: one CLI11 option per declared setting, the struct's initializer
// as the default, std::vector settings comma-separated.

#include <CLI/CLI.hpp>
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

struct cli_binder {
    CLI::App& cmd;
    template <class T>
    void operator()(T& field, const char* flag, const char* env, const char* help) const {
        auto* option = cmd.add_option(std::string("--") + flag, field, help)->envname(env);
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

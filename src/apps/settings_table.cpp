#include "apps/settings_table.hpp"

#include <cstdio>
#include <sstream>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "apps/settings.hpp"

namespace bsocial::apps {

namespace {

template <class T>
std::string text_of(const T& value) {
    if constexpr (std::is_same_v<T, std::string>) {
        return value;
    } else if constexpr (std::is_same_v<T, bool>) {
        return value ? "true" : "false";
    } else if constexpr (std::is_same_v<T, std::vector<std::string>>) {
        std::string joined;
        for (const auto& v : value) joined += (joined.empty() ? "" : ",") + v;
        return joined;
    } else {
        std::ostringstream out;
        out << value;
        return out.str();
    }
}

struct row {
    std::string env, flag, help;
    std::vector<std::pair<std::string, std::string>> defaults;  ///< (default, subcommand)
    std::vector<std::string> commands;
};

class collector {
  public:
    explicit collector(std::vector<row>& rows) : rows_(rows) {}
    std::string command;

    template <class T>
    void operator()(T& field, const char* flag, const char* env, const char* help) {
        if (env == nullptr) return;  // a flag only: in the subcommand's --help
        row* r = nullptr;
        for (auto& existing : rows_)
            if (existing.env == env) r = &existing;
        if (r == nullptr) {
            rows_.push_back({env, flag ? std::string("--") + flag : "", help, {}, {}});
            r = &rows_.back();
        }
        r->defaults.emplace_back(text_of(field), command);
        r->commands.push_back(command);
    }

  private:
    std::vector<row>& rows_;
};

template <class Settings>
void collect(collector& c, const char* command) {
    Settings settings;
    c.command = command;
    settings.describe(c);
}

std::string cell(const std::string& value) { return value.empty() ? "empty" : "`" + value + "`"; }

/// "`x`", or "`x` (serve), `y` (query, telemetry)" when the subcommands' defaults differ.
std::string defaults_of(const row& r) {
    std::vector<std::pair<std::string, std::string>> groups;  // default -> subcommands
    for (const auto& [value, command] : r.defaults) {
        auto it = groups.begin();
        while (it != groups.end() && it->first != value) ++it;
        if (it == groups.end())
            groups.emplace_back(value, command);
        else
            it->second += ", " + command;
    }
    if (groups.size() == 1) return cell(groups.front().first);
    std::string out;
    for (const auto& [value, commands] : groups)
        out += (out.empty() ? "" : "; ") + cell(value) + " (" + commands + ")";
    return out;
}

std::string escaped(std::string text) {
    for (std::size_t at = 0; (at = text.find('|', at)) != std::string::npos; at += 2)
        text.replace(at, 1, "\\|");
    return text;
}

}  // namespace

std::string settings_markdown() {
    std::vector<row> rows;
    collector c(rows);
    collect<serve_settings>(c, "serve");
    collect<notifier_settings>(c, "notifier");
    collect<relay_settings>(c, "relay");
    collect<migrate_settings>(c, "migrate");
    collect<seed_settings>(c, "seed");
    collect<telemetry_settings>(c, "telemetry");
    collect<query_settings>(c, "query");
    std::string out =
        "| variable | flag | default | subcommands | meaning |\n"
        "|---|---|---|---|---|\n";
    for (const auto& r : rows) {
        std::string commands;
        for (const auto& command : r.commands) commands += (commands.empty() ? "" : ", ") + command;
        out += "| `" + r.env + "` | " +
               (r.flag.empty() ? "(environment only)" : "`" + r.flag + "`") + " | " +
               escaped(defaults_of(r)) + " | " + commands + " | " + escaped(r.help) + " |\n";
    }
    return out;
}

void add_settings_command(CLI::App& app, entry_point& chosen) {
    auto* cmd = app.add_subcommand("settings", "print the settings table of README.md");
    cmd->group("");  // hidden: a tool for the README, not for operators
    auto markdown = std::make_shared<bool>(false);
    cmd->add_flag("--markdown", *markdown, "the Markdown table")->required();
    cmd->callback([&chosen, markdown] {
        chosen = [] {
            std::fputs(settings_markdown().c_str(), stdout);
            return 0;
        };
    });
}

}  // namespace bsocial::apps

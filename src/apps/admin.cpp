#include <CLI/CLI.hpp>


#include <cstdio>
#include <memory>
#include <string>

#include "apps/commands.hpp"
#include "apps/settings.hpp"
#include "bsocial/core/clock.hpp"
#include "bsocial/core/text.hpp"
#include "bsocial/core/time_format.hpp"
#include "bsocial/sessions/roles.hpp"
#include "bsocial/social/validation.hpp"
#include "bsocial/store/database.hpp"

namespace bsocial::apps {

namespace {
struct admin_request {
    std::string action;  ///< grant | revoke | list
    std::string username;
};

int run_admin(const admin_command_settings& config, const admin_request& req) {
    const std::string url = config.get<store::database_settings>().effective_url();
    store::database db(url, 1);
    db.migrate();  // the roles table exists from here on
    const std::string where = store::describe_url(url);
    if (req.action == "list") {
        const auto admins = sessions::list_admins(db);
        std::printf("%zu administrator(s) in %s\n", admins.size(), where.c_str());
        for (const auto& a : admins)
            std::printf("%s (account %lld, since %s)\n", a.username.c_str(),
                        static_cast<long long>(a.id), format_rfc3339_ms(a.granted_at).c_str());
        return 0;
    }
    if (req.username.empty()) {
        std::fprintf(stderr, "bsocial admin %s: a USERNAME is needed\n", req.action.c_str());
        return 1;
    }
    std::int64_t id = 0;
    const bool grant = req.action == "grant";
    const auto result = grant ? sessions::grant_admin(db, req.username, system_clock().now_ms(), &id)
                              : sessions::revoke_admin(db, req.username, &id);
    const std::string username = ascii_lower(social::trim(req.username));  // as stored
    const char* name = username.c_str();
    switch (result) {
        case sessions::role_change::done:
            std::printf(grant ? "granted: %s (account %lld) is now an administrator in %s\n"
                              : "revoked: %s (account %lld) is no longer an administrator in %s\n",
                        name, static_cast<long long>(id), where.c_str());
            return 0;
        case sessions::role_change::unchanged:
            std::printf(grant ? "unchanged: %s (account %lld) already is an administrator in %s\n"
                              : "unchanged: %s (account %lld) was not an administrator in %s\n",
                        name, static_cast<long long>(id), where.c_str());
            return 0;
        case sessions::role_change::no_such_user:
            std::fprintf(stderr, "bsocial admin %s: no account named \"%s\" in %s\n",
                         req.action.c_str(), name, where.c_str());
            return 1;
    }
    return 1;
}
}  // namespace

void add_admin_command(CLI::App& app, entry_point& chosen) {
    auto req = std::make_shared<admin_request>();
    auto* cmd = add_command<admin_command_settings>(
        app, "admin", "grant, revoke or list the administrators (accounts that see the analytics)",
        chosen, [req](const admin_command_settings& config) { return run_admin(config, *req); });
    cmd->add_option("action", req->action, "grant | revoke | list")
        ->required()
        ->check(CLI::IsMember({"grant", "revoke", "list"}));
    cmd->add_option("username", req->username, "the account's username (grant, revoke)");
}

}  // namespace bsocial::apps

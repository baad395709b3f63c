// `bsocial seed`: fills an empty database with a generated network (bench/README.md).

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <memory>

#include "apps/commands.hpp"
#include "apps/settings.hpp"
#include "bsocial/auth/password.hpp"
#include "bsocial/core/random.hpp"
#include "bsocial/seed/dataset.hpp"
#include "bsocial/seed/loader.hpp"

namespace bsocial::apps {

namespace {
/// Every seeded account's password (one Argon2id hash shared by all of them).
constexpr const char* seeded_password = "seeded password";

std::int64_t now_ms() {
    using namespace std::chrono;
    return duration_cast<milliseconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
}

int run_seed(const seed_settings& config, seed::options opts, bool quiet) {
    if (opts.end_ms == 0) opts.end_ms = now_ms();
    opts.validate();
    init_crypto();
    const auto started = std::chrono::steady_clock::now();
    const std::string hash = auth::password_hasher({.threads = 1}).hash(seeded_password);
    const seed::dataset d = seed::generate(opts);
    const double generated =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    const std::string url = config.get<store::database_settings>().effective_url();
    store::database db(url, 1);
    const bool bar = !quiet && isatty(STDERR_FILENO);
    const auto totals = seed::load(db, d, opts, config.get<social::timeline_settings>(), hash, bar);
    std::printf(
        "seeded %s: %zu users, %lld follows, %zu posts, %zu comments; %lld rows in %.1f s"
        " (%.0f rows/s; generated in %.1f s); password \"%s\"\n",
        store::describe_url(url).c_str(), d.usernames.size(),
        static_cast<long long>(d.follow_count()),
        d.post_author.size(), d.comment_post.size(), static_cast<long long>(totals.rows),
        totals.seconds, totals.seconds > 0 ? static_cast<double>(totals.rows) / totals.seconds : 0,
        generated, seeded_password);
    return 0;
}
}  // namespace

void add_seed_command(CLI::App& app, entry_point& chosen) {
    // The data set is chosen per run: flags only, bound next to the database and feed
    // settings (as serve's), and checked once the end time is known.
    auto opts = std::make_shared<seed::options>();
    auto quiet = std::make_shared<bool>(false);
    auto* cmd = add_command<seed_settings>(
        app, "seed", "fill an empty database with a generated network (deterministic per --seed)",
        chosen, [opts, quiet](const seed_settings& config) {
            return run_seed(config, *opts, *quiet);
        });
    bind_settings(*cmd, *opts);
    cmd->add_flag("--quiet", *quiet, "no progress bar");
}

}  // namespace bsocial::apps

#include "apps/seed.hpp"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <memory>

#include "apps/common.hpp"
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
    return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

int run_seed(const serve_config& config, seed::options opts, bool quiet) {
    config.validate();
    spdlog::set_level(spdlog::level::from_str(config.log_level));
    if (opts.end_ms == 0) opts.end_ms = now_ms();
    opts.validate();
    init_crypto();
    const auto started = std::chrono::steady_clock::now();
    const std::string hash = auth::password_hasher({.threads = 1}).hash(seeded_password);
    const seed::dataset d = seed::generate(opts);
    const double generated =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    const std::string url = effective_db_url(config);
    store::database db(url, 1);
    const bool bar = !quiet && isatty(STDERR_FILENO);
    const auto totals = seed::load(db, d, opts, timeline_settings_of(config), hash, bar);
    std::printf(
        "seeded %s: %zu users, %lld follows, %zu posts, %zu comments; %lld rows in %.1f s"
        " (%.0f rows/s; generated in %.1f s); password \"%s\"\n",
        describe_db(url).c_str(), d.usernames.size(), static_cast<long long>(d.follow_count()),
        d.post_author.size(), d.comment_post.size(), static_cast<long long>(totals.rows),
        totals.seconds, totals.seconds > 0 ? static_cast<double>(totals.rows) / totals.seconds : 0,
        generated, seeded_password);
    return 0;
}
}  // namespace

void add_seed_command(CLI::App& app, serve_config& config, std::function<int()>& chosen) {
    auto opts = std::make_shared<seed::options>();
    auto quiet = std::make_shared<bool>(false);
    auto* cmd = app.add_subcommand(
        "seed", "fill an empty database with a generated network (deterministic per --seed)");
    cmd->add_option("--db", config.db_url, "database URL (default: SQLite in the data dir)")
        ->envname("BSOCIAL_DB");
    cmd->add_option("--data-dir", config.data_dir, "data directory (SQLite file)")
        ->envname("BSOCIAL_DATA_DIR");
    cmd->add_option("--feed-timeline-capacity", config.feed_timeline_capacity,
                    "entries kept per home timeline (as serve)")
        ->envname("BSOCIAL_FEED_TIMELINE_CAPACITY");
    cmd->add_option("--feed-celebrity-followers", config.feed_celebrity_followers,
                    "followers from which posts are merged at read time (as serve)")
        ->envname("BSOCIAL_FEED_CELEBRITY_FOLLOWERS");
    cmd->add_option("--seed", opts->seed, "random seed")->capture_default_str();
    cmd->add_option("--users", opts->users, "regular users")->capture_default_str();
    cmd->add_option("--follows", opts->follows, "followees per regular user (power law)")
        ->capture_default_str();
    cmd->add_option("--posts", opts->posts, "posts (power law of activity)")->capture_default_str();
    cmd->add_option("--comments", opts->comments, "comments on random posts")
        ->capture_default_str();
    cmd->add_option("--days", opts->days, "posts spread over this many days up to now")
        ->capture_default_str();
    cmd->add_option("--shape-users", opts->shape_users,
                    "accounts of each benchmark shape (sparse, new, heavy, fan)")
        ->capture_default_str();
    cmd->add_option("--heavy-follows", opts->heavy_follows, "followees of each heavy_NN")
        ->capture_default_str();
    cmd->add_option("--star-share", opts->star_share, "share of all posts written by `star`")
        ->capture_default_str();
    cmd->add_option("--end-ms", opts->end_ms, "newest timestamp (default: now)");
    cmd->add_flag("--quiet", *quiet, "no progress bar");
    cmd->callback([&config, &chosen, opts, quiet] {
        chosen = [&config, opts, quiet] { return run_seed(config, *opts, *quiet); };
    });
}

}  // namespace bsocial::apps

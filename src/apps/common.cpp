#include "apps/common.hpp"

#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <stdexcept>

#include "bsocial/core/random.hpp"

namespace bsocial::apps {

/// The configured secret, or one generated once and kept (mode 0600) in the data directory
/// so tokens survive restarts.
std::string load_jwt_secret(const serve_config& config) {
    if (!config.jwt_secret.empty()) return config.jwt_secret;
    const auto path = std::filesystem::path(config.data_dir) / "jwt-secret";
    if (std::ifstream in(path); in) {
        std::string secret;
        std::getline(in, secret);
        if (secret.size() >= 32) return secret;
    }
    std::filesystem::create_directories(config.data_dir);
    const std::string secret = random_hex(32);  // 256 random bits
    // Exclusive create: when two processes start together, one writes and both read it.
    if (std::FILE* f = std::fopen(path.c_str(), "wx")) {
        ::fchmod(::fileno(f), 0600);
        std::fputs((secret + "\n").c_str(), f);
        std::fclose(f);
        spdlog::info("module=app event=jwt_secret_generated path={}", path.string());
        return secret;
    }
    std::ifstream in(path);
    std::string existing;
    std::getline(in, existing);
    if (existing.size() < 32)
        throw std::runtime_error("unreadable JWT secret file " + path.string());
    return existing;
}

std::string describe_db(const std::string& url) {
    // Never log credentials: keep only the scheme and what follows '@'.
    const auto at = url.find('@');
    const auto scheme = url.find("://");
    if (at != std::string::npos && scheme != std::string::npos)
        return url.substr(0, scheme + 3) + "***" + url.substr(at);
    return url;
}

notify::hub_options hub_options_of(const serve_config& config) {
    notify::hub_options o;
    o.db_url = effective_db_url(config);
    o.sockets_per_user = config.notify_sockets_per_user;
    o.safety_poll = std::chrono::milliseconds(config.notify_safety_poll_ms);
    return o;
}

social::timeline_settings timeline_settings_of(const serve_config& config) {
    return {config.feed_timeline_capacity, config.feed_celebrity_followers,
            config.feed_merge_max_followees, config.feed_walk_max_rows};
}

}  // namespace bsocial::apps

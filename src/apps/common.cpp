#include "apps/common.hpp"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <optional>
#include <stdexcept>

#include "bsocial/auth/jwt_secret.hpp"
#include "bsocial/core/random.hpp"
#include "bsocial/store/database.hpp"

namespace bsocial::apps {

namespace {
constexpr std::size_t secret_min_length = 32;

[[noreturn]] void fail(const std::string& what) { throw std::runtime_error(what); }

/// The secret in an existing file, after checking that only its owner (us) can read it.
/// nullopt when the file does not exist.
std::optional<std::string> read_secret_file(const std::filesystem::path& path) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) {
        if (errno == ENOENT) return std::nullopt;
        fail("cannot open the JWT secret file " + path.string() + ": " + std::strerror(errno));
    }
    struct stat st {};
    std::string content;
    const bool stat_ok = ::fstat(fd, &st) == 0;
    if (stat_ok && S_ISREG(st.st_mode) && st.st_uid == ::geteuid() &&
        (st.st_mode & (S_IRWXG | S_IRWXO)) == 0) {
        char buf[256];
        ssize_t n = 0;
        while ((n = ::read(fd, buf, sizeof buf)) > 0 && content.size() < 4096)
            content.append(buf, static_cast<std::size_t>(n));
    }
    ::close(fd);
    if (!stat_ok || !S_ISREG(st.st_mode))
        fail("the JWT secret file " + path.string() + " is not a regular file");
    if (st.st_uid != ::geteuid())
        fail("the JWT secret file " + path.string() + " belongs to another user; refusing it");
    if ((st.st_mode & (S_IRWXG | S_IRWXO)) != 0)
        fail("the JWT secret file " + path.string() +
             " is readable or writable by others; run: chmod 600 " + path.string());
    if (const auto nl = content.find('\n'); nl != std::string::npos) content.resize(nl);
    if (content.size() < secret_min_length)
        fail("the JWT secret file " + path.string() + " is shorter than 32 characters");
    return content;
}

/// Writes a new secret to a private temporary file (mode 0600 from its creation, whatever
/// the umask), then links it into place: a reader sees no file or the whole file, and when
/// two processes race, link() lets exactly one win and the other reads the winner's.
void create_secret_file(const std::filesystem::path& path) {
    const std::string secret = random_hex(32);  // 256 random bits
    const auto tmp = path.parent_path() / (".jwt-secret." + random_hex(8) + ".tmp");
    const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) fail("cannot create " + tmp.string() + ": " + std::strerror(errno));
    const std::string line = secret + "\n";
    const bool written =
        ::fchmod(fd, 0600) == 0 &&
        ::write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size()) &&
        ::fsync(fd) == 0;
    ::close(fd);
    const int linked = written ? ::link(tmp.c_str(), path.c_str()) : -1;
    const int link_errno = errno;
    ::unlink(tmp.c_str());
    if (!written) fail("cannot write the JWT secret file " + tmp.string());
    if (linked == 0)
        spdlog::info("module=app event=jwt_secret_generated path={}", path.string());
    else if (link_errno != EEXIST)  // EEXIST: another process won the race; use its file
        fail("cannot create the JWT secret file " + path.string() + ": " +
             std::strerror(link_errno));
}
}  // namespace

/// The configured secret, or one generated once and kept (mode 0600) in the data directory
/// so tokens survive restarts (docs/security.md, item 4).
std::string load_jwt_secret(const serve_config& config) {
    if (!config.jwt_secret.empty()) {
        // A short or published secret lets anyone sign a token for any user.
        if (auto problem = auth::jwt_secret_problem(config.jwt_secret)) fail(*problem);
        return config.jwt_secret;
    }
    const auto path = std::filesystem::path(config.data_dir) / "jwt-secret";
    if (auto secret = read_secret_file(path)) {
        if (auto problem = auth::jwt_secret_problem(*secret))
            fail("the JWT secret file " + path.string() + ": " + *problem);
        return *secret;
    }
    if (!std::filesystem::exists(config.data_dir)) {  // it will hold the secret: private
        std::filesystem::create_directories(config.data_dir);
        std::filesystem::permissions(config.data_dir, std::filesystem::perms::owner_all,
                                     std::filesystem::perm_options::replace);
    }
    create_secret_file(path);
    if (auto secret = read_secret_file(path)) return *secret;
    fail("the JWT secret file " + path.string() + " vanished while starting");
}

http::server_options server_options_of(const serve_config& config) {
    http::server_options options;
    options.bind = config.bind;
    options.port = config.port;
    options.io_threads = config.io_threads;
    options.blocking_threads = config.db_pool_size;
    options.header_timeout = std::chrono::seconds(config.header_timeout_seconds);
    options.keep_alive_timeout = std::chrono::seconds(config.keep_alive_timeout_seconds);
    options.max_connections = static_cast<std::size_t>(config.max_connections);
    options.max_connections_per_client =
        static_cast<std::size_t>(config.max_connections_per_client);
    options.trusted = http::trusted_proxies(config.trusted_proxies);
    return options;
}

std::string describe_db(const std::string& url) { return store::describe_url(url); }

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

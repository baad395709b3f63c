#include "apps/jwt_secret_file.hpp"

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
std::string load_jwt_secret(const auth::token_settings& tokens, const std::string& data_dir) {
    if (!tokens.jwt_secret.empty()) {
        // A short or published secret lets anyone sign a token for any user.
        if (auto problem = auth::jwt_secret_problem(tokens.jwt_secret)) fail(*problem);
        return tokens.jwt_secret;
    }
    const auto path = std::filesystem::path(data_dir) / "jwt-secret";
    if (auto secret = read_secret_file(path)) {
        if (auto problem = auth::jwt_secret_problem(*secret))
            fail("the JWT secret file " + path.string() + ": " + *problem);
        return *secret;
    }
    if (!std::filesystem::exists(data_dir)) {  // it will hold the secret: private
        std::filesystem::create_directories(data_dir);
        std::filesystem::permissions(data_dir, std::filesystem::perms::owner_all,
                                     std::filesystem::perm_options::replace);
    }
    create_secret_file(path);
    if (auto secret = read_secret_file(path)) return *secret;
    fail("the JWT secret file " + path.string() + " vanished while starting");
}

}  // namespace bsocial::apps

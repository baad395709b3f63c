#include "bsocial/http/static_files.hpp"

#include <cctype>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string_view>

namespace bsocial::http {

namespace {
std::string content_type_of(const std::filesystem::path& p) {
    const std::string ext = p.extension().string();
    if (ext == ".html") return "text/html; charset=utf-8";
    if (ext == ".js" || ext == ".mjs") return "text/javascript; charset=utf-8";
    if (ext == ".css") return "text/css; charset=utf-8";
    if (ext == ".json" || ext == ".map") return "application/json";
    if (ext == ".svg") return "image/svg+xml";
    if (ext == ".png") return "image/png";
    if (ext == ".ico") return "image/x-icon";
    if (ext == ".woff2") return "font/woff2";
    if (ext == ".txt") return "text/plain; charset=utf-8";
    return "application/octet-stream";
}

std::optional<std::string> read_file(const std::filesystem::path& p) {
    std::error_code ec;
    if (!std::filesystem::is_regular_file(p, ec)) return std::nullopt;
    std::ifstream in(p, std::ios::binary);
    if (!in) return std::nullopt;
    std::ostringstream out;
    out << in.rdbuf();
    return out.str();
}

/// root / path, or nullopt when the path tries to leave root ("..", NUL, backslash).
std::optional<std::filesystem::path> resolve(const std::filesystem::path& root,
                                             const std::string& path) {
    if (path.empty() || path.front() != '/' || path.find('\0') != std::string::npos ||
        path.find('\\') != std::string::npos)
        return std::nullopt;
    std::filesystem::path relative;
    std::stringstream segments(path.substr(1));
    std::string segment;
    while (std::getline(segments, segment, '/')) {
        if (segment.empty() || segment == ".") continue;
        if (segment == ".." || segment.front() == '.') return std::nullopt;  // no dotfiles either
        relative /= segment;
    }
    return root / relative;
}

/// Whether Accept-Encoding accepts gzip: a "gzip" (or "*") coding whose q is not 0
/// (RFC 9110 12.5.3; names are case-insensitive, "x-gzip" is the same coding).
bool accepts_gzip(const request& req) {
    const std::string* header = req.header("accept-encoding");
    if (!header) return false;
    std::string lower;
    for (const char c : *header)
        if (c != ' ' && c != '\t') lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    bool star = false;
    std::stringstream items(lower);
    std::string item;
    while (std::getline(items, item, ',')) {
        const auto semi = item.find(';');
        const std::string coding = item.substr(0, semi);
        bool zero = false;
        if (semi != std::string::npos) {
            const std::string_view params = std::string_view(item).substr(semi);
            const auto q = params.find("q=");
            if (q != std::string_view::npos) {
                const std::string_view v = params.substr(q + 2);
                zero = !v.empty() && v.front() == '0' &&
                       v.find_first_not_of("0.", 0) == std::string_view::npos;
            }
        }
        if (coding == "gzip" || coding == "x-gzip") return !zero;
        if (coding == "*") star = !zero;
    }
    return star;
}

/// A validator of the file's bytes as sent: size and modification time, and the coding
/// (the gzip and the plain answer are different representations with different ETags).
std::string etag_of(const std::filesystem::path& p, std::size_t size, bool gzip) {
    std::error_code ec;
    const auto when = std::filesystem::last_write_time(p, ec);
    const auto ticks = ec ? 0 : static_cast<long long>(when.time_since_epoch().count());
    std::ostringstream out;
    out << '"' << std::hex << size << '-' << ticks << (gzip ? "-gz" : "") << '"';
    return out.str();
}
}  // namespace

static_files::static_files(const std::filesystem::path& root)
    : root_(std::filesystem::weakly_canonical(root)) {
    if (!std::filesystem::is_regular_file(root_ / "index.html"))
        throw std::invalid_argument("static directory has no index.html: " + root_.string());
}

std::optional<response> static_files::serve(const request& req) const {
    if (req.method != "GET" && req.method != "HEAD") return std::nullopt;
    auto file = resolve(root_, req.path);
    if (!file) return std::nullopt;
    std::optional<std::string> body;
    if (std::filesystem::is_directory(*file)) *file /= "index.html";
    body = read_file(*file);
    if (!body && !file->has_extension()) {  // a client-side route: the app handles it
        file = root_ / "index.html";
        body = read_file(*file);
    }
    if (!body) return std::nullopt;

    response res;
    res.content_type = content_type_of(*file);
    // The web build writes NAME.gz next to each compressible file (web/tools/compress.mjs):
    // sent as is, with Content-Encoding, to clients that accept gzip. Vary either way, so
    // that a cache never hands the compressed bytes to a client that did not ask.
    const bool compressible = file->extension() != ".gz" && file->extension() != ".png" &&
                              file->extension() != ".ico" && file->extension() != ".woff2";
    std::filesystem::path sent = *file;
    if (compressible) {
        res.set_header("Vary", "Accept-Encoding");
        if (accepts_gzip(req)) {
            std::filesystem::path gz = *file;
            gz += ".gz";
            if (auto zipped = read_file(gz)) {
                body = std::move(zipped);
                sent = gz;
                res.set_header("Content-Encoding", "gzip");
            }
        }
    }
    res.set_header("ETag", etag_of(sent, body->size(), sent != *file));
    res.body = std::move(*body);
    // Vite puts content-hashed files under assets/: cache them for good; re-check the rest.
    const bool hashed = req.path.rfind("/assets/", 0) == 0;
    res.set_header("Cache-Control", hashed ? "public, max-age=31536000, immutable" : "no-cache");
    if (file->extension() == ".html") {
        res.set_header("Content-Security-Policy", content_security_policy);
        res.set_header("Referrer-Policy", "no-referrer");
        res.set_header("X-Frame-Options", "DENY");
    }
    return res;
}

}  // namespace bsocial::http

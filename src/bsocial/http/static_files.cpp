#include "bsocial/http/static_files.hpp"

#include <fstream>
#include <sstream>
#include <stdexcept>

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

#include "bsocial/telemetry/query_template.hpp"

#include <boost/json/parse.hpp>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace bsocial::telemetry {

std::string json_escape(std::string_view value) {
    std::string out;
    out.reserve(value.size() + 8);
    for (const char ch : value) {
        const auto c = static_cast<unsigned char>(ch);
        switch (c) {
            case '"':
                out += "\\\"";
                break;
            case '\\':
                out += "\\\\";
                break;
            case '\b':
                out += "\\b";
                break;
            case '\f':
                out += "\\f";
                break;
            case '\n':
                out += "\\n";
                break;
            case '\r':
                out += "\\r";
                break;
            case '\t':
                out += "\\t";
                break;
            default:
                if (c < 0x20) {
                    char buf[8];
                    std::snprintf(buf, sizeof buf, "\\u%04x", c);
                    out += buf;
                } else {
                    out += ch;  // UTF-8 passes through as is
                }
        }
    }
    return out;
}

std::string substitute(std::string_view text, const query_params& params) {
    std::string out;
    out.reserve(text.size());
    std::size_t pos = 0;
    while (true) {
        const auto open = text.find("{{", pos);
        if (open == std::string_view::npos) break;
        const auto close = text.find("}}", open + 2);
        if (close == std::string_view::npos)
            throw std::invalid_argument("query has an unclosed {{ placeholder");
        const auto name = text.substr(open + 2, close - open - 2);
        const auto it = params.find(name);
        if (it == params.end())
            throw std::invalid_argument("query parameter {{" + std::string(name) +
                                        "}} has no value");
        out.append(text.substr(pos, open - pos));
        out += json_escape(it->second);
        pos = close + 2;
    }
    out.append(text.substr(pos));
    boost::system::error_code ec;
    boost::json::parse(out, ec);
    if (ec)
        throw std::invalid_argument("query is not valid JSON after substitution: " + ec.message());
    return out;
}

std::string load_query_file(const std::string& dir, const std::string& file) {
    const auto path = std::filesystem::path(dir) / file;
    std::ifstream in(path, std::ios::binary);
    if (!in)
        throw std::runtime_error("cannot read query file " + path.string() +
                                 " (set BSOCIAL_QUERIES_DIR or --queries-dir)");
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

}  // namespace bsocial::telemetry

#include "bsocial/analytics/post_lookup.hpp"

#include <charconv>
#include <set>

#include "bsocial/social/posts.hpp"

namespace bsocial::analytics {

std::string excerpt(std::string_view content, std::size_t max) {
    std::size_t code_points = 0;
    for (std::size_t i = 0; i < content.size(); ++i) {
        const auto c = static_cast<unsigned char>(content[i]);
        if ((c & 0xC0) == 0x80) continue;  // a continuation byte: same code point
        if (code_points++ == max) return std::string(content.substr(0, i)) + "\u2026";
    }
    return std::string(content);
}

telemetry::post_lookup sql_post_lookup(store::database& db) {
    return [&db](const std::vector<std::string>& ids) {
        std::set<std::int64_t> unique;  // a post may rank on several days
        for (const auto& id : ids) {
            std::int64_t n = 0;
            const auto [end, ec] = std::from_chars(id.data(), id.data() + id.size(), n);
            if (ec == std::errc() && end == id.data() + id.size() && n > 0) unique.insert(n);
        }
        const std::vector<std::int64_t> numbers(unique.begin(), unique.end());
        std::map<std::string, telemetry::post_details> found;
        for (const auto& p : social::posts_by_ids(db, numbers))
            found[std::to_string(p.id)] = {p.by.username, excerpt(p.content), p.comment_count};
        return found;
    };
}

}  // namespace bsocial::analytics

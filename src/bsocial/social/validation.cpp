#include "bsocial/social/validation.hpp"

#include <algorithm>

namespace bsocial::social {

std::size_t utf8_length(std::string_view s) {
    return static_cast<std::size_t>(std::count_if(
        s.begin(), s.end(), [](char c) { return (static_cast<unsigned char>(c) & 0xC0) != 0x80; }));
}

std::string to_lower(std::string_view s) {
    std::string out(s);
    std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) {
        return static_cast<char>(c >= 'A' && c <= 'Z' ? c + 32 : c);
    });
    return out;
}

std::string trim(std::string_view s) {
    const auto is_space = [](char c) {
        return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
    };
    std::size_t b = 0, e = s.size();
    while (b < e && is_space(s[b])) ++b;
    while (e > b && is_space(s[e - 1])) --e;
    return std::string(s.substr(b, e - b));
}

namespace {
bool has_control(std::string_view s, bool allow_newlines) {
    return std::any_of(s.begin(), s.end(), [allow_newlines](char ch) {
        const auto c = static_cast<unsigned char>(ch);
        if (allow_newlines && (c == '\n' || c == '\t' || c == '\r')) return false;
        return c < 0x20 || c == 0x7f;
    });
}
}  // namespace

std::optional<std::string> check_name(std::string& name) {
    name = trim(name);
    if (name.empty()) return "is required";
    if (utf8_length(name) > max_name_length) return "must be at most 100 characters";
    if (has_control(name, false)) return "must not contain control characters";
    return std::nullopt;
}

bool looks_like_username(std::string_view s) {
    if (s.size() < 3 || s.size() > max_username_length) return false;
    return std::all_of(s.begin(), s.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               c == '_';
    });
}

std::optional<std::string> check_username(std::string& username) {
    username = to_lower(trim(username));
    if (username.empty()) return "is required";
    if (!looks_like_username(username))
        return "must be 3 to 30 characters: letters, digits and underscores";
    return std::nullopt;
}

std::optional<std::string> check_email(std::string& email) {
    email = to_lower(trim(email));
    if (email.empty()) return "is required";
    if (email.size() > max_email_length) return "must be at most 254 characters";
    const auto at = email.find('@');
    const bool shape_ok = at != std::string::npos && at > 0 && at <= 64 &&
                          email.find('@', at + 1) == std::string::npos && [&] {
                              const std::string_view domain(email.c_str() + at + 1);
                              const auto dot = domain.rfind('.');
                              return dot != std::string_view::npos && dot > 0 &&
                                     dot + 1 < domain.size() && domain.front() != '.' &&
                                     domain.find("..") == std::string_view::npos;
                          }();
    const bool chars_ok = std::none_of(email.begin(), email.end(), [](char ch) {
        const auto c = static_cast<unsigned char>(ch);
        return c <= 0x20 || c == 0x7f || ch == '<' || ch == '>' || ch == '"' || ch == ',' ||
               ch == ';' || ch == '\\';
    });
    if (!shape_ok || !chars_ok) return "must be a valid e-mail address";
    return std::nullopt;
}

std::optional<std::string> check_password(const std::string& password,
                                          const auth::common_passwords& common) {
    const std::size_t n = utf8_length(password);
    if (n < min_password_length) return "must be at least 8 characters";
    if (n > max_password_length) return "must be at most 128 characters";
    if (common.contains(password)) return "is too common; choose a less guessable password";
    return std::nullopt;
}

std::optional<std::string> check_text(std::string& text, std::size_t max_length) {
    text = trim(text);
    if (text.empty()) return "must not be empty";
    if (utf8_length(text) > max_length)
        return "must be at most " + std::to_string(max_length) + " characters";
    if (has_control(text, true)) return "must not contain control characters";
    return std::nullopt;
}

}  // namespace bsocial::social

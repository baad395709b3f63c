#include "bsocial/social/validation.hpp"

#include <algorithm>
#include <cstdio>

#include "bsocial/core/text.hpp"

namespace bsocial::social {

std::size_t utf8_length(std::string_view s) {
    return static_cast<std::size_t>(std::count_if(
        s.begin(), s.end(), [](char c) { return (static_cast<unsigned char>(c) & 0xC0) != 0x80; }));
}

std::string to_lower(std::string_view s) { return ascii_lower(s); }

std::string trim(std::string_view s) {
    const auto is_space = [](char c) {
        return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
    };
    std::size_t b = 0, e = s.size();
    while (b < e && is_space(s[b])) ++b;
    while (e > b && is_space(s[e - 1])) --e;
    return std::string(s.substr(b, e - b));
}

std::string normalise_email(std::string_view email) { return ascii_lower(trim(email)); }

namespace {
/// Unicode general category Cf (format), Unicode 15: the invisible characters that
/// reorder or hide text.
bool is_format(char32_t c) {
    return c == 0x00AD || (c >= 0x0600 && c <= 0x0605) || c == 0x061C || c == 0x06DD ||
           c == 0x070F || (c >= 0x0890 && c <= 0x0891) || c == 0x08E2 || c == 0x180E ||
           (c >= 0x200B && c <= 0x200F) || (c >= 0x202A && c <= 0x202E) ||
           (c >= 0x2060 && c <= 0x2064) || (c >= 0x2066 && c <= 0x206F) || c == 0xFEFF ||
           (c >= 0xFFF9 && c <= 0xFFFB) || c == 0x110BD || c == 0x110CD ||
           (c >= 0x13430 && c <= 0x1343F) || (c >= 0x1BCA0 && c <= 0x1BCA3) ||
           (c >= 0x1D173 && c <= 0x1D17A) || c == 0xE0001 || (c >= 0xE0020 && c <= 0xE007F);
}

/// Hangul fillers: letters (category Lo) that draw nothing, so a name made of them looks
/// empty and a post hides text between them.
bool is_invisible_filler(char32_t c) {
    return c == 0x115F || c == 0x1160 || c == 0x3164 || c == 0xFFA0;
}

std::string format_refusal(char32_t c) {
    char code[16];
    std::snprintf(code, sizeof code, "U+%04X", static_cast<unsigned>(c));
    return std::string(is_invisible_filler(c) ? "must not contain invisible filler characters ("
                                              : "must not contain invisible formatting characters (") +
           code + ")";
}
}  // namespace

std::optional<char32_t> find_format_character(std::string_view s, bool allow_joiners) {
    for (std::size_t i = 0; i < s.size();) {
        const auto b = static_cast<unsigned char>(s[i]);
        const std::size_t n = b < 0x80 ? 1 : b < 0xE0 ? 2 : b < 0xF0 ? 3 : 4;
        if (n == 1) {
            ++i;
            continue;
        }
        char32_t c = b & (0xFF >> (n + 1));
        for (std::size_t k = 1; k < n && i + k < s.size(); ++k)
            c = (c << 6) | (static_cast<unsigned char>(s[i + k]) & 0x3F);
        i += n;
        if (allow_joiners && (c == 0x200C || c == 0x200D)) continue;
        if (is_format(c) || is_invisible_filler(c)) return c;
    }
    return std::nullopt;
}

namespace {
/// C0 controls and DEL (newline, tab and CR allowed in texts), C1 controls (U+0080-U+009F:
/// U+009B is a terminal's CSI) and the line and paragraph separators U+2028/U+2029 (a
/// newline no text field expects; they also end a JavaScript string literal in old engines).
bool has_control(std::string_view s, bool allow_newlines) {
    for (std::size_t i = 0; i < s.size(); ++i) {
        const auto c = static_cast<unsigned char>(s[i]);
        if (allow_newlines && (c == '\n' || c == '\t' || c == '\r')) continue;
        if (c < 0x20 || c == 0x7f) return true;
        const auto next = [&](std::size_t k) {
            return i + k < s.size() ? static_cast<unsigned char>(s[i + k]) : 0;
        };
        if (c == 0xC2 && next(1) >= 0x80 && next(1) <= 0x9F) return true;  // U+0080-U+009F
        if (c == 0xE2 && next(1) == 0x80 && (next(2) == 0xA8 || next(2) == 0xA9))
            return true;  // U+2028, U+2029
    }
    return false;
}

/// True when every character of the password is the same one ("        ", "aaaaaaaa").
bool one_repeated_character(std::string_view password) {
    if (password.empty()) return false;
    std::size_t first_len = 1;
    while (first_len < password.size() &&
           (static_cast<unsigned char>(password[first_len]) & 0xC0) == 0x80)
        ++first_len;
    const auto first = password.substr(0, first_len);
    if (password.size() % first_len != 0) return false;
    for (std::size_t i = 0; i < password.size(); i += first_len)
        if (password.substr(i, first_len) != first) return false;
    return true;
}

bool only_whitespace(std::string_view password) { return trim(password).empty(); }
}  // namespace

std::optional<std::string> check_name(std::string& name) {
    name = trim(name);
    if (name.empty()) return "is required";
    if (utf8_length(name) > max_name_length) return "must be at most 100 characters";
    if (has_control(name, false)) return "must not contain control characters";
    if (auto c = find_format_character(name, true)) return format_refusal(*c);
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
    email = normalise_email(email);
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
    // ASCII only: then lower case is the whole normalisation, and no look-alike letter or
    // invisible character makes a second account for one mailbox.
    if (std::any_of(email.begin(), email.end(),
                    [](char ch) { return static_cast<unsigned char>(ch) >= 0x80; }))
        return "must be an ASCII e-mail address";
    return std::nullopt;
}

std::optional<std::string> check_password(const std::string& password,
                                          const auth::common_passwords& common) {
    const std::size_t n = utf8_length(password);
    if (n < min_password_length) return "must be at least 8 characters";
    if (n > max_password_length) return "must be at most 128 characters";
    if (only_whitespace(password)) return "must not be only spaces";
    if (one_repeated_character(password)) return "must not be one character repeated";
    if (common.contains(password)) return "is too common; choose a less guessable password";
    return std::nullopt;
}

std::optional<std::string> check_text(std::string& text, std::size_t max_length) {
    text = trim(text);
    if (text.empty()) return "must not be empty";
    if (utf8_length(text) > max_length)
        return "must be at most " + std::to_string(max_length) + " characters";
    if (has_control(text, true)) return "must not contain control characters";
    if (auto c = find_format_character(text, true)) return format_refusal(*c);
    return std::nullopt;
}

}  // namespace bsocial::social

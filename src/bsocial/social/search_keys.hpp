#pragma once
// People search keys (issue 28): a name folded so that "Østergaard", "ostergaard",
// "ØSTER" and "Oster" meet. Folding: lower case, diacritics stripped (é -> e, combining
// marks dropped), letters that are not a base letter plus a mark spelled as people type
// them without the key (ø -> o, æ -> ae, œ -> oe, ß -> ss, ł -> l, đ/ð -> d, þ -> th,
// ı -> i); Greek and Cyrillic lower-cased; any other letter or digit kept as it is.
// Separators (space, '-', '\'', '.', ',' and every other ASCII punctuation but '_') split
// a name into tokens: "Anne-Marie" gives "anne" and "marie".
//
// The keys of an account (table user_search_keys, migration 10): its username as it is
// (lower-case ASCII already), and each token of its first and last names, at most
// max_keys_per_user. A search folds its text the same way and reads the range
// [token, token + U+10FFFF) of the key index per token (social/sql.hpp).

#include <string>
#include <string_view>
#include <vector>

namespace bsocial::social {

inline constexpr std::size_t max_keys_per_user = 8;
inline constexpr std::size_t max_key_bytes = 64;

/// `text` folded, separators kept as single spaces (trimmed). Invalid UTF-8 bytes dropped.
std::string fold_text(std::string_view text);

/// The folded tokens of `text`, in order, without repeats, each at most max_key_bytes
/// (cut on a character boundary).
std::vector<std::string> fold_tokens(std::string_view text);

/// The search keys of an account: the username, then the tokens of first and last name,
/// without repeats, at most max_keys_per_user.
std::vector<std::string> search_keys_of(std::string_view username, std::string_view first_name,
                                        std::string_view last_name);

/// The exclusive upper end of the keys that start with `prefix`: prefix + U+10FFFF (the
/// greatest code point: every UTF-8 continuation of the prefix sorts below it byte-wise).
std::string key_range_end(const std::string& prefix);

}  // namespace bsocial::social

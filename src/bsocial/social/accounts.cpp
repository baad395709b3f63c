#include "bsocial/social/accounts.hpp"

#include <soci/soci.h>
#include <spdlog/spdlog.h>

#include "bsocial/core/error.hpp"
#include "bsocial/outbox/outbox.hpp"
#include "bsocial/social/people.hpp"
#include "bsocial/social/sql.hpp"
#include "bsocial/social/user_rows.hpp"
#include "bsocial/social/validation.hpp"
#include "bsocial/store/sql_error.hpp"
#include "bsocial/store/statement.hpp"

namespace bsocial::social {

namespace {
const char* const invalid_credentials_message = "invalid login or password";

events::user_fields fields_of(const user& u) { return {u.id, u.username, u.email}; }

void throw_rate_limited(std::int64_t seconds,
                        const char* message = "too many failed logins; try again later") {
    error e(error_code::rate_limited, message);
    e.retry_after_seconds = seconds;
    throw e;
}

/// A database failure while registering: logged without its text (it holds the bound
/// e-mail and password hash, docs/security.md item 3), answered 503.
[[noreturn]] void registration_failed(const char* statement, const std::exception& e) {
    spdlog::error("module=social event=registration_failed statement={} error=\"{}\"", statement,
                  store::describe_error(e));
    error out(error_code::unavailable, "registration is unavailable right now; try again later");
    out.retry_after_seconds = 5;
    throw out;
}

/// The failed-login limiter's key: the account when the login names one, so that its
/// username and e-mail share one budget; else the identifier itself.
std::string throttle_key(const std::optional<user>& found, const std::string& login) {
    return found ? "account:" + std::to_string(found->id) : "login:" + login;
}
}  // namespace

namespace detail {
std::optional<user> find_user_by_username(soci::session& sql, const std::string& username) {
    user u;
    soci::statement st(sql);
    bind_user(st, u);
    st.exchange(soci::use(username));
    store::prepare_statement(st, find_user_by_username_sql);
    if (!st.execute(true)) return std::nullopt;
    return u;
}
}  // namespace detail

accounts::accounts(store::database& db, auth::password_hasher& hasher,
                   auth::login_guard& logins,
                   auth::rate_limiter& registrations, const auth::common_passwords& common,
                   const clock& clock)
    : db_(db),
      hasher_(hasher),
      logins_(logins),
      registrations_(registrations),
      common_(common),
      clock_(clock) {}

user accounts::register_user(registration in, const std::string& client_address) {
    if (auto wait = registrations_.try_take(client_address))
        throw_rate_limited(*wait, "too many registrations from this address; try again later");
    field_errors errors;
    if (auto why = check_name(in.first_name)) errors["first_name"] = *why;
    if (auto why = check_name(in.last_name)) errors["last_name"] = *why;
    if (auto why = check_username(in.username)) errors["username"] = *why;
    if (auto why = check_email(in.email)) errors["email"] = *why;
    if (auto why = check_password(in.password, common_)) errors["password"] = *why;
    if (in.password_confirmation != in.password)
        errors["password_confirmation"] = "does not match the password";
    if (!errors.empty()) throw error(error_code::validation_failed, "invalid registration", errors);

    try {
        store::lease sql_lease(db_);
        soci::session& sql = *sql_lease;
        int taken_username = 0, taken_email = 0;
        sql << count_username_sql, soci::into(taken_username), soci::use(in.username);
        sql << count_email_sql, soci::into(taken_email), soci::use(in.email);
        if (taken_username) errors["username"] = "is already taken";
        if (taken_email) errors["email"] = "is already registered";
    } catch (const soci::soci_error& e) {
        registration_failed("count_taken", e);
    }
    if (!errors.empty())
        throw error(error_code::already_exists, "an account already uses these details", errors);

    // Argon2 outside the transaction (it takes ~100 ms and must not hold the write lock),
    // on the hashing pool; error{unavailable} when that is full.
    const std::string password_hash = hasher_.hash(in.password);

    user u;
    u.username = in.username;
    u.email = in.email;
    u.first_name = in.first_name;
    u.last_name = in.last_name;
    try {
        store::lease sql_lease(db_);
        soci::session& sql = *sql_lease;
        store::write_transaction tx(sql, db_);
        u.created_at = clock_.now_ms();
        sql << insert_user_sql, soci::use(u.username), soci::use(u.email), soci::use(u.first_name),
            soci::use(u.last_name), soci::use(password_hash), soci::use(u.created_at),
            soci::into(u.id);
        write_search_keys(sql, u);  // people search (people.hpp), in the same transaction
        outbox::append_to_outbox(
            sql, events::user_registered(fields_of(u), u.first_name, u.last_name, u.created_at));
        tx.commit();
    } catch (const soci::soci_error& e) {
        // Lost a race with a concurrent registration of the same name or address.
        if (store::is_unique_violation(e))
            throw error(error_code::already_exists, "an account already uses these details",
                        {{"username", "or e-mail is already taken"}});
        registration_failed("insert_user", e);
    }
    return u;
}

user accounts::check_credentials(std::string login, const std::string& password,
                                 const std::string& client_address) {
    const bool by_email = login.find('@') != std::string::npos;
    login = by_email ? normalise_email(login) : to_lower(trim(login));
    if (auto wait = logins_.begin_address(client_address)) throw_rate_limited(*wait);

    std::optional<user> found;
    std::string stored_hash;
    std::string key;
    try {
        if (!login.empty() && login.size() <= max_email_length) {
            store::lease sql_lease(db_);
            soci::session& sql = *sql_lease;
            user u;
            soci::statement st(sql);
            detail::bind_user(st, u);
            st.exchange(soci::into(stored_hash));
            st.exchange(soci::use(login));
            store::prepare_statement(
                st, by_email ? find_login_by_email_sql : find_login_by_username_sql);
            if (st.execute(true)) found = u;
        }
    } catch (const soci::soci_error&) {
        logins_.cancel_address(client_address);
        throw;
    }
    key = throttle_key(found, login);
    if (auto wait = logins_.begin_identifier(key, client_address)) throw_rate_limited(*wait);
    if (found && on_login_found_) on_login_found_(found->id);  // the feed, during the hash

    // Unknown user and wrong password cost the same Argon2 verification. Both
    // attempts are counted already; a full hashing pool (503) takes them back.
    bool ok = false;
    try {
        ok =
            found ? hasher_.verify(stored_hash, password) : (hasher_.verify_dummy(password), false);
    } catch (...) {
        logins_.cancel(key, client_address);
        throw;
    }
    if (!ok) throw error(error_code::invalid_credentials, invalid_credentials_message);
    logins_.succeeded(key, client_address);

    return std::move(*found);
}

}  // namespace bsocial::social

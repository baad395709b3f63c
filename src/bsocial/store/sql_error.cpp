#include "bsocial/store/sql_error.hpp"

#include <soci/postgresql/soci-postgresql.h>
#include <soci/soci-backend.h>
#include <soci/sqlite3/soci-sqlite3.h>

namespace bsocial::store {

namespace {
const char* category_name(soci::soci_error::error_category c) {
    switch (c) {
        case soci::soci_error::connection_error:
            return "connection_error";
        case soci::soci_error::invalid_statement:
            return "invalid_statement";
        case soci::soci_error::no_privilege:
            return "no_privilege";
        case soci::soci_error::no_data:
            return "no_data";
        case soci::soci_error::constraint_violation:
            return "constraint_violation";
        case soci::soci_error::unknown_transaction_state:
            return "unknown_transaction_state";
        case soci::soci_error::system_error:
            return "system_error";
        case soci::soci_error::unknown:
            return "unknown";
    }
    return "unknown";
}
}  // namespace

bool is_sql_error(const std::exception& e) noexcept {
    return dynamic_cast<const soci::soci_error*>(&e) != nullptr;
}

bool says_connection_lost(const std::exception& e) noexcept {
    const auto* sql = dynamic_cast<const soci::soci_error*>(&e);
    if (!sql) return false;
    try {
        if (sql->get_error_category() == soci::soci_error::connection_error) return true;
        if (const auto* pg = dynamic_cast<const soci::postgresql_soci_error*>(sql)) {
            const std::string state = pg->sqlstate();
            if (state.rfind("08", 0) == 0 || state == "57P01" || state == "57P02" ||
                state == "57P03")
                return true;
        }
        // Never logged: the message may quote bound values.
        const std::string& msg = sql->get_error_message();
        for (const char* words :
             {"server closed the connection", "no connection to the server",
              "could not send data", "could not receive data", "connection to server",
              "terminating connection", "Session is not connected"})
            if (msg.find(words) != std::string::npos) return true;
    } catch (...) {
    }
    return false;
}

bool says_transient(const std::exception& e) noexcept {
    const auto* sql = dynamic_cast<const soci::soci_error*>(&e);
    if (!sql) return false;
    try {
        if (const auto* lite = dynamic_cast<const soci::sqlite3_soci_error*>(sql)) {
            const int primary = lite->result() & 0xff;
            // BUSY, LOCKED; the machine's trouble, not the row's: NOMEM, IOERR, FULL,
            // CANTOPEN, PROTOCOL (a full disk must not get posts parked)
            return primary == 5 || primary == 6 || primary == 7 || primary == 10 ||
                   primary == 13 || primary == 14 || primary == 15;
        }
        if (const auto* pg = dynamic_cast<const soci::postgresql_soci_error*>(sql)) {
            const std::string state = pg->sqlstate();
            return state.rfind("40", 0) == 0 || state.rfind("53", 0) == 0 || state == "55P03" ||
                   state == "57014";
        }
    } catch (...) {
    }
    return false;
}

std::string describe_error(const std::exception& e) {
    const auto* sql = dynamic_cast<const soci::soci_error*>(&e);
    if (!sql) return e.what();
    std::string out = std::string("sql_error category=") + category_name(sql->get_error_category());
    if (const auto* lite = dynamic_cast<const soci::sqlite3_soci_error*>(sql))
        out += " sqlite_code=" + std::to_string(lite->result());
    else if (const auto* pg = dynamic_cast<const soci::postgresql_soci_error*>(sql))
        out += " sqlstate=" + pg->sqlstate();
    return out;
}

}  // namespace bsocial::store

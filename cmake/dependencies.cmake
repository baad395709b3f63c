# Every dependency is a Debian bookworm package (see the Makefile's `deps` target).

# Boost 1.81 (the versioned libboost1.81-dev packages; never the default 1.74).
find_package(Boost 1.81.0 EXACT REQUIRED CONFIG COMPONENTS json url system)
add_library(bsocial_boost INTERFACE)
target_link_libraries(bsocial_boost INTERFACE Boost::headers Boost::json Boost::url Boost::system)
# Asio: C++20 coroutines; no deprecated interfaces.
target_compile_definitions(bsocial_boost INTERFACE BOOST_ASIO_NO_DEPRECATED BOOST_BEAST_USE_STD_STRING_VIEW)

find_package(spdlog REQUIRED)
find_package(CLI11 REQUIRED)
find_package(OpenSSL REQUIRED)
find_package(PkgConfig REQUIRED)
pkg_check_modules(SODIUM REQUIRED IMPORTED_TARGET libsodium)
pkg_check_modules(RDKAFKA REQUIRED IMPORTED_TARGET rdkafka++ rdkafka)
pkg_check_modules(CURL REQUIRED IMPORTED_TARGET libcurl)

# SOCI 4.0.3: Debian ships no CMake config or .pc file.
find_path(SOCI_INCLUDE_DIR soci/soci.h REQUIRED)
find_library(SOCI_CORE_LIBRARY soci_core REQUIRED)
find_library(SOCI_SQLITE3_LIBRARY soci_sqlite3 REQUIRED)
find_library(SOCI_POSTGRESQL_LIBRARY soci_postgresql REQUIRED)
find_path(PQ_INCLUDE_DIR libpq-fe.h PATH_SUFFIXES postgresql REQUIRED)
# libpq and libsqlite3 directly too: the store configures SQLite and the seed loader
# speaks COPY.
find_library(PQ_LIBRARY pq REQUIRED)
find_library(SQLITE3_LIBRARY sqlite3 REQUIRED)
add_library(bsocial_soci INTERFACE)
target_include_directories(bsocial_soci INTERFACE ${SOCI_INCLUDE_DIR} ${PQ_INCLUDE_DIR})
target_link_libraries(bsocial_soci INTERFACE ${SOCI_SQLITE3_LIBRARY} ${SOCI_POSTGRESQL_LIBRARY}
                      ${SOCI_CORE_LIBRARY} ${PQ_LIBRARY} ${SQLITE3_LIBRARY} bsocial_boost)

find_package(Threads REQUIRED)

# gperftools' tcmalloc (libgoogle-perftools-dev) replaces glibc's malloc in the bsocial
# binary: a request allocates on a blocking-pool thread and frees on an I/O thread, and
# glibc's arenas spent ~8% of a feed request there (malloc_consolidate, unlink_chunk);
# docs/feed.md, "What a request costs". Not with the sanitizers, which bring their own.
option(BSOCIAL_TCMALLOC "Link the bsocial binary with tcmalloc" ON)
if(BSOCIAL_TCMALLOC AND NOT BSOCIAL_SANITIZE)
  pkg_check_modules(TCMALLOC REQUIRED IMPORTED_TARGET libtcmalloc_minimal)
endif()

#include "bsocial/telemetry/es_client.hpp"

#include <curl/curl.h>

#include <algorithm>
#include <boost/url/parse.hpp>
#include <boost/url/url.hpp>
#include <mutex>

namespace bsocial::telemetry {

namespace {

CURL* handle(void* p) { return static_cast<CURL*>(p); }

std::size_t append_body(char* data, std::size_t size, std::size_t count, void* out) {
    static_cast<std::string*>(out)->append(data, size * count);
    return size * count;
}

void global_init() {
    // curl_global_init is not thread-safe and must run once per process.
    static std::once_flag once;
    std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

// The certificate chain could not be verified: a wrong or missing CA, not an outage.
bool tls_trust_error(CURLcode rc) {
    return rc == CURLE_PEER_FAILED_VERIFICATION || rc == CURLE_SSL_CACERT_BADFILE ||
           rc == CURLE_SSL_CERTPROBLEM || rc == CURLE_SSL_ISSUER_ERROR;
}

}  // namespace

elasticsearch_config split_credentials(elasticsearch_config config) {
    auto parsed = boost::urls::parse_uri(config.url);
    if (!parsed || !parsed->has_userinfo()) return config;
    boost::urls::url u = *parsed;
    if (config.user.empty()) {
        config.user = u.user();
        if (config.password.empty()) config.password = u.password();
    }
    u.remove_userinfo();
    config.url = u.buffer();
    return config;
}

es_client::es_client(const elasticsearch_config& config)
    : curl_(nullptr),
      base_url_(config.url),
      user_(config.user),
      password_(config.password),
      ca_file_(config.ca_file),
      timeout_ms_(config.request_timeout_ms) {
    global_init();
    while (!base_url_.empty() && base_url_.back() == '/') base_url_.pop_back();
    curl_ = curl_easy_init();
    if (!curl_) throw std::runtime_error("curl_easy_init failed");
}

es_client::~es_client() { curl_easy_cleanup(handle(curl_)); }

http_response es_client::request(std::string_view method, std::string_view path,
                                 std::string_view body, std::string_view content_type) {
    CURL* c = handle(curl_);
    curl_easy_reset(c);  // keeps the connection cache: the next request reuses the socket
    const std::string url = base_url_ + std::string(path);
    const std::string verb(method);
    http_response response;
    curl_easy_setopt(c, CURLOPT_URL, url.c_str());
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, verb.c_str());
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, &append_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &response.body);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout_ms_);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, std::min(timeout_ms_, 5000L));
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);         // no SIGALRM for DNS timeouts (threads)
    curl_easy_setopt(c, CURLOPT_ACCEPT_ENCODING, "");  // any encoding curl can decode (gzip)
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    if (!user_.empty()) {
        curl_easy_setopt(c, CURLOPT_HTTPAUTH, CURLAUTH_BASIC);
        curl_easy_setopt(c, CURLOPT_USERNAME, user_.c_str());
        curl_easy_setopt(c, CURLOPT_PASSWORD, password_.c_str());
    }
    if (!ca_file_.empty()) curl_easy_setopt(c, CURLOPT_CAINFO, ca_file_.c_str());

    curl_slist* headers = nullptr;
    const std::string type_header = "Content-Type: " + std::string(content_type);
    headers = curl_slist_append(headers, "Accept: application/json");
    if (!body.empty() || verb == "POST" || verb == "PUT") {
        headers = curl_slist_append(headers, type_header.c_str());
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body.data());
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
    }
    // No "Expect: 100-continue" round trip for large bulk bodies.
    headers = curl_slist_append(headers, "Expect:");
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);

    const CURLcode rc = curl_easy_perform(c);
    curl_slist_free_all(headers);
    const std::string what = verb + " " + base_url_ + std::string(path);
    if (rc != CURLE_OK && tls_trust_error(rc))
        throw es_config_error(
            what + ": TLS certificate not trusted (" + curl_easy_strerror(rc) + "): " +
            (ca_file_.empty() ? std::string("set BSOCIAL_ELASTICSEARCH_CA_FILE to the CA that "
                                            "signed Elasticsearch's certificate")
                              : "BSOCIAL_ELASTICSEARCH_CA_FILE=" + ca_file_ +
                                    " is not the CA that signed Elasticsearch's certificate"));
    if (rc != CURLE_OK) throw es_unreachable(what + ": " + curl_easy_strerror(rc));
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &response.status);
    if (response.status == 401)
        throw es_config_error(what + ": HTTP 401, Elasticsearch refused the credentials " +
                              (user_.empty()
                                   ? std::string("(none given: set BSOCIAL_ELASTICSEARCH_USER and "
                                                 "BSOCIAL_ELASTICSEARCH_PASSWORD)")
                                   : "of user '" + user_ +
                                         "' (check BSOCIAL_ELASTICSEARCH_USER and "
                                         "BSOCIAL_ELASTICSEARCH_PASSWORD)"));
    if (response.status == 403)
        throw es_config_error(what + ": HTTP 403, user '" + user_ +
                              "' may not do this: " + response.body.substr(0, 300));
    return response;
}

}  // namespace bsocial::telemetry

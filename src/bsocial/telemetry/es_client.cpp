#include "bsocial/telemetry/es_client.hpp"

#include <curl/curl.h>
#include <spdlog/spdlog.h>

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
    std::string urls;
    for (const auto& item : split_urls(config.url)) {
        std::string one = item;
        auto parsed = boost::urls::parse_uri(one);
        if (parsed && parsed->has_userinfo()) {
            boost::urls::url u = *parsed;
            if (config.user.empty()) {
                config.user = u.user();
                if (config.password.empty()) config.password = u.password();
            }
            u.remove_userinfo();
            one = u.buffer();
        }
        urls += (urls.empty() ? "" : ",") + one;
    }
    config.url = urls;
    return config;
}

es_client::es_client(const elasticsearch_config& config)
    : curl_(nullptr),
      nodes_(split_urls(config.url)),
      user_(config.user),
      password_(config.password),
      ca_file_(config.ca_file),
      timeout_ms_(config.request_timeout_ms) {
    global_init();
    if (nodes_.empty()) nodes_.emplace_back(config.url);
    for (auto& node : nodes_) {
        while (!node.empty() && node.back() == '/') node.pop_back();
        display_url_ += (display_url_.empty() ? "" : ",") + node;
    }
    curl_ = curl_easy_init();
    if (!curl_) throw std::runtime_error("curl_easy_init failed");
}

es_client::~es_client() { curl_easy_cleanup(handle(curl_)); }

long es_client::perform(std::size_t i, const std::string& verb, std::string_view path,
                        std::string_view body, std::string_view content_type,
                        http_response& response) {
    CURL* c = handle(curl_);
    curl_easy_reset(c);  // keeps the connection cache: the next request reuses the socket
    const std::string url = nodes_[i] + std::string(path);
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
    if (rc == CURLE_OK) curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &response.status);
    return static_cast<long>(rc);
}

http_response es_client::request(std::string_view method, std::string_view path,
                                 std::string_view body, std::string_view content_type) {
    const std::string verb(method);
    http_response response;
    std::string unreachable;  // the last node's transport error, if it had no answer
    // Each node once, starting with the one that answered last. Another node is tried when
    // this one gave no answer or a gateway in front of it (a proxy, a load balancer) said
    // its node is gone (502/503/504); our requests are safe to send twice (_bulk creates
    // with _id: a repeat is a 409; searches; PUTs of the same template).
    for (std::size_t n = 0; n < nodes_.size(); ++n) {
        const std::size_t i = (current_ + n) % nodes_.size();
        response = http_response{};
        const auto rc = static_cast<CURLcode>(perform(i, verb, path, body, content_type, response));
        const std::string what = verb + " " + nodes_[i] + std::string(path);
        if (rc != CURLE_OK && tls_trust_error(rc))
            throw es_config_error(
                what + ": TLS certificate not trusted (" + curl_easy_strerror(rc) + "): " +
                (ca_file_.empty() ? std::string("set BSOCIAL_ELASTICSEARCH_CA_FILE to the CA that "
                                                "signed Elasticsearch's certificate")
                                  : "BSOCIAL_ELASTICSEARCH_CA_FILE=" + ca_file_ +
                                        " is not the CA that signed Elasticsearch's certificate"));
        const bool gone = rc != CURLE_OK || response.status == 502 || response.status == 503 ||
                          response.status == 504;
        if (gone && n + 1 < nodes_.size()) {
            spdlog::warn(
                "module=telemetry event=elasticsearch_failover node={} next={} cause=\"{}\"",
                nodes_[i], nodes_[(i + 1) % nodes_.size()],
                rc != CURLE_OK ? curl_easy_strerror(rc)
                               : "HTTP " + std::to_string(response.status));
            continue;
        }
        if (rc != CURLE_OK) {
            unreachable = what + ": " + curl_easy_strerror(rc);
            break;
        }
        current_ = i;
        if (response.status == 401)
            throw es_config_error(
                what + ": HTTP 401, Elasticsearch refused the credentials " +
                (user_.empty() ? std::string("(none given: set BSOCIAL_ELASTICSEARCH_USER and "
                                             "BSOCIAL_ELASTICSEARCH_PASSWORD)")
                               : "of user '" + user_ +
                                     "' (check BSOCIAL_ELASTICSEARCH_USER and "
                                     "BSOCIAL_ELASTICSEARCH_PASSWORD)"));
        if (response.status == 403)
            throw es_config_error(what + ": HTTP 403, user '" + user_ +
                                  "' may not do this: " + response.body.substr(0, 300));
        return response;
    }
    if (nodes_.size() > 1) unreachable += " (and every other node of " + display_url_ + ")";
    throw es_unreachable(unreachable);
}

}  // namespace bsocial::telemetry

#include "bsocial/auth/jwt.hpp"

#include <gtest/gtest.h>

#include "bsocial/auth/base64url.hpp"
#include "bsocial/auth/verified_tokens.hpp"
#include "bsocial/core/random.hpp"

namespace {
using namespace bsocial;
using namespace bsocial::auth;

class fixed_clock final : public clock {
  public:
    std::int64_t ms = 1'800'000'000'000;
    std::int64_t now_ms() const override { return ms; }
};

const std::string secret(32, 'k');

std::string sign(const std::string& header, const std::string& payload, const std::string& key) {
    const std::string input = base64url_encode(header) + "." + base64url_encode(payload);
    return input + "." + base64url_encode(hs256_sign(input, key));
}

class TokenService : public ::testing::Test {
  protected:
    void SetUp() override { init_crypto(); }
    fixed_clock clock_;
    token_service tokens_{secret, clock_, 3600};
    std::string payload(std::int64_t exp_offset = 3600, const std::string& iss = "bsocial",
                        const std::string& aud = "bsocial-api") {
        const auto now = clock_.now_seconds();
        return R"({"iss":")" + iss + R"(","aud":")" + aud + R"(","sub":"42","iat":)" +
               std::to_string(now) + R"(,"exp":)" + std::to_string(now + exp_offset) +
               R"(,"jti":"abc"})";
    }
};
}  // namespace

// RFC 7515 appendix A.1: the HS256 example's exact signature.
TEST(Hs256, MatchesRfc7515AppendixA1) {
    const std::string header = "{\"typ\":\"JWT\",\r\n \"alg\":\"HS256\"}";
    const std::string payload =
        "{\"iss\":\"joe\",\r\n \"exp\":1300819380,\r\n \"http://example.com/is_root\":true}";
    const auto key = base64url_decode(
        "AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow");
    ASSERT_TRUE(key);
    const std::string input = base64url_encode(header) + "." + base64url_encode(payload);
    EXPECT_EQ(
        input,
        "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9.eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsD"
        "QogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ");
    EXPECT_EQ(base64url_encode(hs256_sign(input, *key)),
              "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk");
}

TEST_F(TokenService, IssuedTokenVerifies) {
    const auto issued = tokens_.issue(42);
    const auto claims = tokens_.verify(issued.token);
    ASSERT_TRUE(claims);
    EXPECT_EQ(claims->user_id, 42);
    EXPECT_EQ(claims->jti, issued.claims.jti);
    EXPECT_EQ(claims->expires_at, clock_.now_seconds() + 3600);
}

TEST_F(TokenService, EveryTokenHasItsOwnJti) {
    EXPECT_NE(tokens_.issue(1).claims.jti, tokens_.issue(1).claims.jti);
}

TEST_F(TokenService, RefusesAlgNone) {
    const std::string input =
        base64url_encode(R"({"alg":"none","typ":"JWT"})") + "." + base64url_encode(payload());
    EXPECT_FALSE(tokens_.verify(input + "."));
    EXPECT_FALSE(tokens_.verify(input + "." + base64url_encode(hs256_sign(input, secret))));
}

TEST_F(TokenService, RefusesOtherAlgorithmsEvenWhenSignedWithOurKey) {
    EXPECT_FALSE(tokens_.verify(sign(R"({"alg":"HS512"})", payload(), secret)));
}

TEST_F(TokenService, RefusesWrongKey) {
    EXPECT_TRUE(tokens_.verify(sign(R"({"alg":"HS256"})", payload(), secret)));
    EXPECT_FALSE(tokens_.verify(sign(R"({"alg":"HS256"})", payload(), std::string(32, 'x'))));
}

TEST_F(TokenService, RefusesExpiredToken) {
    const auto issued = tokens_.issue(42);
    clock_.ms += 3600 * 1000;
    EXPECT_FALSE(tokens_.verify(issued.token));
    EXPECT_FALSE(tokens_.verify(sign(R"({"alg":"HS256"})", payload(-1), secret)));
}

TEST_F(TokenService, RefusesWrongIssuerOrAudience) {
    EXPECT_FALSE(tokens_.verify(sign(R"({"alg":"HS256"})", payload(3600, "evil"), secret)));
    EXPECT_FALSE(
        tokens_.verify(sign(R"({"alg":"HS256"})", payload(3600, "bsocial", "other"), secret)));
}

TEST_F(TokenService, RefusesGarbageAndOversizedTokens) {
    EXPECT_FALSE(tokens_.verify(""));
    EXPECT_FALSE(tokens_.verify("not.a.token"));
    EXPECT_FALSE(tokens_.verify("a.b"));
    EXPECT_FALSE(tokens_.verify("a.b.c.d"));
}

// Issue 9: the size cap itself, on tokens that are otherwise valid and correctly signed:
// one just under the cap verifies, one just over it does not (before, this test appended
// garbage to a token, which failed on its signature whatever the cap).
TEST_F(TokenService, RefusesSignedTokensOverTheSizeCap) {
    const auto signed_with_padding = [&](std::size_t pad) {
        std::string p = payload();
        p.insert(p.size() - 1, R"(,"pad":")" + std::string(pad, 'p') + "\"");
        return sign(R"({"alg":"HS256"})", p, secret);
    };
    std::size_t pad = 0;
    while (signed_with_padding(pad + 1).size() <= token_service::max_token_length) ++pad;
    const std::string at_cap = signed_with_padding(pad);
    const std::string over_cap = signed_with_padding(pad + 1);
    ASSERT_LE(at_cap.size(), token_service::max_token_length);
    ASSERT_GE(at_cap.size(), token_service::max_token_length - 2);
    ASSERT_GT(over_cap.size(), token_service::max_token_length);
    ASSERT_LE(over_cap.size(), token_service::max_token_length + 2);
    EXPECT_TRUE(tokens_.verify(at_cap));
    EXPECT_FALSE(tokens_.verify(over_cap));
}

TEST_F(TokenService, RefusesTamperedPayload) {
    const auto issued = tokens_.issue(42);
    const auto dot1 = issued.token.find('.');
    const auto dot2 = issued.token.rfind('.');
    std::string forged_payload = payload();
    forged_payload.replace(forged_payload.find("\"42\""), 4, "\"1\"");
    const std::string forged = issued.token.substr(0, dot1) + "." +
                               base64url_encode(forged_payload) + issued.token.substr(dot2);
    EXPECT_FALSE(tokens_.verify(forged));
}

// Issue 24 item 6: RFC 7515 4.1.11 (crit) and RFC 8725 3.11 (typ), with our own key.
TEST_F(TokenService, RefusesCritHeaderAndForeignTyp) {
    EXPECT_TRUE(tokens_.verify(sign(R"({"alg":"HS256","typ":"JWT"})", payload(), secret)));
    EXPECT_TRUE(tokens_.verify(sign(R"({"alg":"HS256","typ":"jwt"})", payload(), secret)));
    EXPECT_TRUE(tokens_.verify(sign(R"({"alg":"HS256"})", payload(), secret)));  // typ optional
    EXPECT_FALSE(
        tokens_.verify(sign(R"({"alg":"HS256","typ":"JWT","crit":["exp"]})", payload(), secret)));
    EXPECT_FALSE(tokens_.verify(sign(R"({"alg":"HS256","crit":[]})", payload(), secret)));
    EXPECT_FALSE(tokens_.verify(sign(R"({"alg":"HS256","typ":"at+jwt"})", payload(), secret)));
    EXPECT_FALSE(tokens_.verify(sign(R"({"alg":"HS256","typ":7})", payload(), secret)));
}

// Issue 26: a verified token is remembered (no HMAC the next time), but a remembered token
// is no more valid than a fresh check says.
TEST_F(TokenService, RememberedTokenStillExpires) {
    const auto issued = tokens_.issue(42);
    ASSERT_TRUE(tokens_.verify(issued.token));  // verified, now remembered
    ASSERT_TRUE(tokens_.verify(issued.token));  // found in memory
    clock_.ms += 3600 * 1000;                   // exactly at "exp"
    EXPECT_FALSE(tokens_.verify(issued.token));
}

TEST_F(TokenService, RememberedTokenDoesNotVouchForAnother) {
    const auto issued = tokens_.issue(42);
    ASSERT_TRUE(tokens_.verify(issued.token));
    // Same length, one character of the signature changed: a different token.
    std::string forged = issued.token;
    forged.back() = forged.back() == 'A' ? 'B' : 'A';
    EXPECT_FALSE(tokens_.verify(forged));
    EXPECT_FALSE(tokens_.verify(issued.token + "A"));
    EXPECT_FALSE(tokens_.verify(issued.token.substr(0, issued.token.size() - 1)));
    EXPECT_TRUE(tokens_.verify(issued.token));
}

TEST(VerifiedTokens, BoundedAndKeyedByTheWholeToken) {
    verified_tokens cache(32);
    token_claims c;
    c.user_id = 1;
    c.jti = "j";
    c.expires_at = 100;
    for (int i = 0; i < 1000; ++i) cache.put("token-" + std::to_string(i), c);
    EXPECT_LE(cache.size(), 32u);
    cache.put("the-token", c);
    EXPECT_TRUE(cache.find("the-token", 99));
    EXPECT_FALSE(cache.find("the-token", 100));  // expired
    EXPECT_FALSE(cache.find("the-tokeN", 99));
    EXPECT_FALSE(cache.find("the-token ", 99));
}

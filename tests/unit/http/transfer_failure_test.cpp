#include "http/transfer_failure.hpp"

#include <gtest/gtest.h>

namespace csnap::http {
namespace {

ClassifiedFailure classify(CURLcode code, bool connected = false) {
  const ErrorHints hints{.unreachable = "is Consul running?", .tls = "check CONSUL_CACERT"};
  return classify_transfer_failure({.code = code,
                                    .connected = connected,
                                    .detail = "libcurl says no",
                                    .request = "PUT /v1/kv/a",
                                    .where = "http://127.0.0.1:8500"},
                                   hints);
}

TEST(ClassifyTransferFailure, CannotConnectIsUnsentAndRetryable) {
  for (CURLcode code :
       {CURLE_COULDNT_RESOLVE_HOST, CURLE_COULDNT_RESOLVE_PROXY, CURLE_COULDNT_CONNECT}) {
    auto failure = classify(code);
    EXPECT_EQ(failure.error.kind(), ErrorKind::unavailable) << code;
    EXPECT_TRUE(failure.retryable) << code;
    EXPECT_TRUE(failure.unsent) << code;
    EXPECT_EQ(failure.error.message(),
              "PUT /v1/kv/a: cannot connect to http://127.0.0.1:8500: libcurl says no "
              "(is Consul running?)");
  }
}

TEST(ClassifyTransferFailure, ATimeoutIsUnsentOnlyBeforeAConnection) {
  auto before = classify(CURLE_OPERATION_TIMEDOUT, /*connected=*/false);
  EXPECT_EQ(before.error.kind(), ErrorKind::unavailable);
  EXPECT_TRUE(before.retryable);
  EXPECT_TRUE(before.unsent);
  EXPECT_NE(before.error.message().find("cannot connect"), std::string::npos);

  // Once connected, the server may have acted: retryable only for idempotent requests.
  auto after = classify(CURLE_OPERATION_TIMEDOUT, /*connected=*/true);
  EXPECT_EQ(after.error.kind(), ErrorKind::transient);
  EXPECT_TRUE(after.retryable);
  EXPECT_FALSE(after.unsent);
  EXPECT_EQ(after.error.message(), "PUT /v1/kv/a: timed out: libcurl says no");
}

TEST(ClassifyTransferFailure, ABrokenExchangeIsTransientAndMayHaveBeenSeen) {
  for (CURLcode code : {CURLE_SEND_ERROR, CURLE_RECV_ERROR, CURLE_GOT_NOTHING, CURLE_PARTIAL_FILE,
                        CURLE_HTTP2, CURLE_HTTP2_STREAM}) {
    for (bool connected : {false, true}) {
      auto failure = classify(code, connected);
      EXPECT_EQ(failure.error.kind(), ErrorKind::transient) << code;
      EXPECT_TRUE(failure.retryable) << code;
      EXPECT_FALSE(failure.unsent) << code;
      EXPECT_EQ(failure.error.message(),
                "PUT /v1/kv/a: connection to http://127.0.0.1:8500 failed: libcurl says no");
    }
  }
}

TEST(ClassifyTransferFailure, TlsFailuresAreFinalWithTheTlsHint) {
  for (CURLcode code :
       {CURLE_PEER_FAILED_VERIFICATION, CURLE_SSL_CONNECT_ERROR, CURLE_SSL_CACERT_BADFILE,
        CURLE_SSL_CERTPROBLEM, CURLE_SSL_ISSUER_ERROR, CURLE_SSL_CRL_BADFILE, CURLE_SSL_CIPHER,
        CURLE_SSL_ENGINE_NOTFOUND, CURLE_SSL_ENGINE_SETFAILED, CURLE_SSL_PINNEDPUBKEYNOTMATCH,
        CURLE_SSL_INVALIDCERTSTATUS}) {
    auto failure = classify(code, /*connected=*/true);
    EXPECT_EQ(failure.error.kind(), ErrorKind::unavailable) << code;
    EXPECT_FALSE(failure.retryable) << code;
    EXPECT_FALSE(failure.unsent) << code;
    EXPECT_EQ(failure.error.message(),
              "PUT /v1/kv/a: TLS to http://127.0.0.1:8500 failed: libcurl says no "
              "(check CONSUL_CACERT)");
  }
}

TEST(ClassifyTransferFailure, AnythingElseIsAFinalInternalError) {
  for (CURLcode code : {CURLE_UNSUPPORTED_PROTOCOL, CURLE_URL_MALFORMAT, CURLE_OUT_OF_MEMORY,
                        CURLE_TOO_MANY_REDIRECTS, CURLE_ABORTED_BY_CALLBACK}) {
    auto failure = classify(code);
    EXPECT_EQ(failure.error.kind(), ErrorKind::internal) << code;
    EXPECT_FALSE(failure.retryable) << code;
    EXPECT_FALSE(failure.unsent) << code;
    EXPECT_EQ(failure.error.message(), "PUT /v1/kv/a: libcurl says no");
  }
}

TEST(ClassifyTransferFailure, NoHintAddsNoParentheses) {
  auto failure = classify_transfer_failure(
      {.code = CURLE_COULDNT_CONNECT, .detail = "refused", .request = "GET /", .where = "h"}, {});
  EXPECT_EQ(failure.error.message(), "GET /: cannot connect to h: refused");
}

}  // namespace
}  // namespace csnap::http

#pragma once
// What a failed libcurl transfer means: the error the caller sees and whether the retry loop may
// try again. A pure function of what libcurl reported, so the table of cases is unit-tested
// without a network.

#include <string>

#include <curl/curl.h>

#include "http/client.hpp"
#include "util/result.hpp"

namespace csnap::http {

// What is known of a transfer that libcurl ended with `code` (not CURLE_OK).
struct TransferFailure {
  CURLcode code = CURLE_OK;
  bool connected = false;  // a connection existed (CURLINFO_CONNECT_TIME_T > 0)
  std::string detail{};    // libcurl's error buffer, or curl_easy_strerror(code)
  std::string request{};   // "GET /v1/kv/x": every message starts with it
  std::string where{};     // the server, safe to log: "http://127.0.0.1:8500", "unix:///path"
};

// The error a failed transfer is, and what the retry loop may do with it.
struct ClassifiedFailure {
  Error error;
  bool retryable = false;  // worth another attempt: cannot connect, timed out, connection broke
  bool unsent = false;     // failed before a connection existed: the server never saw the request
};

// Classifies `failure`. Cannot resolve or connect (or a timeout before a connection existed):
// unavailable, retryable, unsent, with `hints.unreachable`. A timeout once connected, or a
// connection that broke or answered nothing: transient and retryable (the server may have acted).
// TLS failures: unavailable and final, with `hints.tls`. Anything else: internal and final.
ClassifiedFailure classify_transfer_failure(const TransferFailure& failure,
                                            const ErrorHints& hints);

}  // namespace csnap::http

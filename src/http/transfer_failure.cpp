#include "http/transfer_failure.hpp"

#include <fmt/format.h>

namespace csnap::http {
namespace {

std::string with_hint(std::string message, const std::string& hint) {
  if (!hint.empty())
    message += fmt::format(" ({})", hint);
  return message;
}

}  // namespace

ClassifiedFailure classify_transfer_failure(const TransferFailure& failure,
                                            const ErrorHints& hints) {
  const std::string& request = failure.request;
  const std::string& where = failure.where;
  const std::string& detail = failure.detail;
  auto cannot_connect = [&] {
    return ClassifiedFailure{
        Error(ErrorKind::unavailable,
              with_hint(fmt::format("{}: cannot connect to {}: {}", request, where, detail),
                        hints.unreachable)),
        /*retryable=*/true, /*unsent=*/true};
  };
  switch (failure.code) {
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_COULDNT_CONNECT:
      return cannot_connect();
    case CURLE_OPERATION_TIMEDOUT:
      if (!failure.connected)
        return cannot_connect();
      return {Error(ErrorKind::transient, fmt::format("{}: timed out: {}", request, detail)),
              /*retryable=*/true, /*unsent=*/false};
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
      return {Error(ErrorKind::transient,
                    fmt::format("{}: connection to {} failed: {}", request, where, detail)),
              /*retryable=*/true, /*unsent=*/false};
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_CRL_BADFILE:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_ENGINE_NOTFOUND:
    case CURLE_SSL_ENGINE_SETFAILED:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_INVALIDCERTSTATUS:
      return {Error(ErrorKind::unavailable,
                    with_hint(fmt::format("{}: TLS to {} failed: {}", request, where, detail),
                              hints.tls)),
              /*retryable=*/false, /*unsent=*/false};
    default:
      return {Error(ErrorKind::internal, fmt::format("{}: {}", request, detail)),
              /*retryable=*/false, /*unsent=*/false};
  }
}

}  // namespace csnap::http

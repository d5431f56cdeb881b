#pragma once
// A tiny scripted HTTP server over raw sockets for fault tests that cpp-httplib cannot produce:
// connections reset before or in the middle of a response, and unix sockets.

#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <functional>
#include <string>
#include <system_error>
#include <thread>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

namespace csnap::testing {

struct RawReply {
  std::string bytes;   // written as is
  bool reset = false;  // then close with RST (SO_LINGER 0) instead of FIN
};

class RawServer {
 public:
  // `script(n, request)` answers the n-th connection (from 0), given its request head and body.
  using Script = std::function<RawReply(int, const std::string&)>;

  static std::unique_ptr<RawServer> tcp(Script script) {
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof address;
    bind_or_throw(fd, reinterpret_cast<sockaddr*>(&address), sizeof address);
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
    auto server = std::unique_ptr<RawServer>(new RawServer(fd, std::move(script)));
    server->port_ = ntohs(address.sin_port);
    return server;
  }

  static std::unique_ptr<RawServer> unix_socket(const std::filesystem::path& path, Script script) {
    int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    std::strncpy(address.sun_path, path.c_str(), sizeof address.sun_path - 1);
    bind_or_throw(fd, reinterpret_cast<sockaddr*>(&address), sizeof address);
    return std::unique_ptr<RawServer>(new RawServer(fd, std::move(script)));
  }

  ~RawServer() {
    stopping_ = true;
    ::shutdown(listen_fd_, SHUT_RDWR);
    thread_.join();
    ::close(listen_fd_);
  }

  int port() const { return port_; }
  int connections() const { return connections_; }

 private:
  // A server that cannot bind fails the test that starts it, by an exception googletest reports.
  static void bind_or_throw(int fd, const sockaddr* address, socklen_t length) {
    if (::bind(fd, address, length) != 0)
      throw std::system_error(errno, std::generic_category(), "RawServer: bind");
  }

  RawServer(int fd, Script script) : listen_fd_(fd), script_(std::move(script)) {
    ::listen(listen_fd_, 16);
    thread_ = std::thread([this] { run(); });
  }

  void run() {
    while (!stopping_) {
      int client = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (client < 0)
        return;
      std::string request = read_request(client);
      RawReply reply = script_(connections_++, request);
      std::size_t sent = 0;
      while (sent < reply.bytes.size()) {
        auto count =
            ::send(client, reply.bytes.data() + sent, reply.bytes.size() - sent, MSG_NOSIGNAL);
        if (count <= 0)
          break;
        sent += static_cast<std::size_t>(count);
      }
      if (reply.reset) {
        linger option{1, 0};
        ::setsockopt(client, SOL_SOCKET, SO_LINGER, &option, sizeof option);
      }
      ::close(client);
    }
  }

  static std::string read_request(int fd) {
    std::string data;
    char buffer[4096];
    std::size_t wanted = std::string::npos;
    while (wanted == std::string::npos || data.size() < wanted) {
      auto count = ::recv(fd, buffer, sizeof buffer, 0);
      if (count <= 0)
        break;
      data.append(buffer, static_cast<std::size_t>(count));
      auto end = data.find("\r\n\r\n");
      if (end != std::string::npos && wanted == std::string::npos) {
        std::size_t body = 0;
        auto pos = data.find("Content-Length: ");
        if (pos != std::string::npos && pos < end)
          body = std::stoul(data.substr(pos + 16));
        wanted = end + 4 + body;
      }
    }
    return data;
  }

  int listen_fd_;
  int port_ = 0;
  Script script_;
  std::atomic<bool> stopping_{false};
  std::atomic<int> connections_{0};
  std::thread thread_;
};

inline std::string http_reply(int status, std::string_view body, std::string_view extra = {}) {
  return "HTTP/1.1 " + std::to_string(status) +
         " X\r\nContent-Length: " + std::to_string(body.size()) + "\r\nConnection: close\r\n" +
         std::string(extra) + "\r\n" + std::string(body);
}

}  // namespace csnap::testing

#pragma once
// cpp-httplib on a free loopback port, run on its own thread for the life of the object.

#include <chrono>
#include <string>
#include <thread>

#include <httplib.h>

namespace csnap::testing {

class FakeHttp {
 public:
  FakeHttp() = default;
  FakeHttp(const FakeHttp&) = delete;
  FakeHttp& operator=(const FakeHttp&) = delete;
  ~FakeHttp() { stop(); }

  httplib::Server& server() { return server_; }

  // Starts serving the routes set so far; returns the base URL.
  std::string start() {
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    while (!server_.is_running())
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    return url();
  }
  void stop() {
    if (thread_.joinable()) {
      server_.stop();
      thread_.join();
    }
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  int port() const { return port_; }

 private:
  httplib::Server server_;
  std::thread thread_;
  int port_ = 0;
};

}  // namespace csnap::testing

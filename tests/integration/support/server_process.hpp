#pragma once
// Plumbing for the servers that integration tests start (SeaweedFS, moto, the EC2 metadata
// emulator): a background process with its output in a log file, its own temporary folder, and
// waiting with a deadline until it answers over HTTP.

#include <chrono>
#include <cstddef>
#include <filesystem>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "util/result.hpp"

namespace csnap::testing {

// Starts `argv` (no shell) in `directory` with `env` added to the environment and its output in
// `log_path`; the child is killed with SIGKILL when this process dies, so that a crashed test
// leaves no server behind. Returns its pid.
Result<int> spawn_background(const std::vector<std::string>& argv,
                             const std::map<std::string, std::string>& env,
                             const std::filesystem::path& directory,
                             const std::filesystem::path& log_path);

// A new empty folder <temp>/<prefix>XXXXXX (mkdtemp).
Result<std::filesystem::path> make_temp_directory(std::string_view prefix);

// The last `max_chars` characters of the file at `path` (all of it when shorter; "" when it
// cannot be read).
std::string file_tail(const std::filesystem::path& path, std::size_t max_chars);

// Polls with curl (`curl_args` after "--max-time 5") every 100 ms until the answer's status is
// `status`, process `pid` exits (then `pid` becomes -1: it has been reaped), or `deadline`
// passes; the timeout error names the last answer.
Status wait_for_http_status(int& pid, std::chrono::seconds deadline,
                            const std::vector<std::string>& curl_args, long status);

// A server to start and how to tell that it is ready.
struct ServerLaunch {
  std::string name;  // in errors: "moto", "SeaweedFS"
  std::vector<std::string> argv;
  std::map<std::string, std::string> env;  // added to the environment
  std::filesystem::path directory;         // its working directory
  std::filesystem::path log_path;          // its stdout and stderr
  std::chrono::seconds deadline{60};
  std::vector<std::string> ready_request;  // curl arguments: it is ready when they are answered
  long ready_status = 200;                 // with this status
};

// Starts the server (spawn_background) and waits until it is ready (wait_for_http_status). `pid`
// is set as soon as the process runs (and back to -1 if it exits), so that the caller's
// destructor stops it; the error names the server and ends with the tail of its log.
Status launch_server(const ServerLaunch& launch, int& pid);

// For a server's destructor: stops process `pid` (stop_process: SIGTERM, SIGKILL after `grace`;
// nothing when it is -1) and removes `directory` (when set) with everything in it.
void stop_and_remove(int pid, const std::filesystem::path& directory, std::chrono::seconds grace);

}  // namespace csnap::testing

#pragma once
// GET /: one self-contained HTML page for people: the daemon's status, the backups in the storage
// and an inline SVG chart of the size and duration of this process's recent attempts. Rendered on
// the server from a State snapshot (no scripts, no external assets); every string from outside
// (keys, error messages, the storage's description) is escaped. The markup is also well-formed
// XML, so that tests can parse it.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "daemon/backup_catalog.hpp"
#include "daemon/health.hpp"
#include "daemon/state.hpp"
#include "util/result.hpp"

namespace csnap::daemon {

inline constexpr const char* kPageContentType = "text/html; charset=utf-8";

// An inline <svg> of `history`: the stored size of each success and the duration of each
// attempt (failures marked) over time, with one <circle class="size-point"> per success and one
// <circle class="duration-point"> per attempt. A short paragraph instead when `history` is empty.
std::string render_chart(const std::vector<Attempt>& history);

// The whole page for `snapshot` at `now`, with `health` as evaluate_health computed it and
// `backups` the storage's listing, an error listing it, or nullopt when the daemon lists none.
std::string render_page(const Snapshot& snapshot, const HealthAnswer& health,
                        std::chrono::seconds health_max_age, Clock::time_point now,
                        const std::optional<Result<BackupListing>>& backups);

}  // namespace csnap::daemon

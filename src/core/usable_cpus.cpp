#include "core/usable_cpus.hpp"

#include <sched.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <vector>

#include "cnn/core/parallel.hpp"

namespace cnn {

namespace cpu_limits {

namespace {

// The text without the trailing newline (and any other trailing white space) the kernel writes.
std::string_view trim_end(std::string_view text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ' || text.back() == '\t')) {
    text.remove_suffix(1);
  }
  return text;
}

// A whole token as a decimal integer; nullopt when anything else is in it.
std::optional<std::int64_t> parse_integer(std::string_view token) {
  std::int64_t value = 0;
  const auto [end, error] = std::from_chars(token.data(), token.data() + token.size(), value);
  if (error != std::errc() || end != token.data() + token.size() || token.empty()) {
    return std::nullopt;
  }
  return value;
}

std::optional<double> quota_over_period(std::int64_t quota, std::int64_t period) {
  if (quota <= 0 || period <= 0) return std::nullopt;
  return static_cast<double>(quota) / static_cast<double>(period);
}

// The path field of the first line of /proc/self/cgroup whose controllers field passes `wanted`.
template <class Wanted>
std::optional<std::string> cgroup_path(std::string_view text, Wanted wanted) {
  while (!text.empty()) {
    const std::size_t newline = text.find('\n');
    const std::string_view line = text.substr(0, newline);
    text = newline == std::string_view::npos ? std::string_view() : text.substr(newline + 1);
    const std::size_t first = line.find(':');
    if (first == std::string_view::npos) continue;
    const std::size_t second = line.find(':', first + 1);
    if (second == std::string_view::npos) continue;
    const std::string_view path = line.substr(second + 1);
    if (path.empty() || path.front() != '/') continue;
    if (wanted(line.substr(0, first), line.substr(first + 1, second - first - 1))) {
      return std::string(path);
    }
  }
  return std::nullopt;
}

std::optional<std::string> read_small_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  // cgroup files report a size of 4096 whatever they hold: read to the end instead.
  std::string text;
  char buffer[4096];
  while (in.read(buffer, sizeof buffer) || in.gcount() > 0) {
    text.append(buffer, static_cast<std::size_t>(in.gcount()));
  }
  if (in.bad()) return std::nullopt;
  return text;
}

std::optional<double> smaller(std::optional<double> a, std::optional<double> b) {
  if (!a) return b;
  if (!b) return a;
  return std::min(*a, *b);
}

// The smallest quota that `read_quota(folder)` finds in the group at `mount`/`path` and every
// group above it, up to `mount` itself. A folder that is not there is passed over: in a container
// without its own cgroup namespace, /proc/self/cgroup names the group as the host sees it
// ("/docker/<id>") while the container's group is mounted at the root.
template <class ReadQuota>
std::optional<double> smallest_quota_up_from(const std::filesystem::path& mount,
                                             const std::string& path, ReadQuota read_quota) {
  std::optional<double> smallest;
  std::filesystem::path group = std::filesystem::path(path).relative_path();
  for (;;) {
    smallest = smaller(smallest, read_quota(mount / group));
    if (group.empty()) break;
    group = group.parent_path();
  }
  return smallest;
}

}  // namespace

std::optional<std::string> cgroup_v2_path(std::string_view proc_self_cgroup) {
  return cgroup_path(proc_self_cgroup,
                     [](std::string_view hierarchy, std::string_view controllers) {
                       return hierarchy == "0" && controllers.empty();
                     });
}

std::optional<std::string> cgroup_v1_cpu_path(std::string_view proc_self_cgroup) {
  return cgroup_path(proc_self_cgroup, [](std::string_view, std::string_view controllers) {
    while (!controllers.empty()) {
      const std::size_t comma = controllers.find(',');
      if (controllers.substr(0, comma) == "cpu") return true;
      if (comma == std::string_view::npos) break;
      controllers.remove_prefix(comma + 1);
    }
    return false;
  });
}

std::optional<double> parse_cpu_max(std::string_view cpu_max) {
  const std::string_view text = trim_end(cpu_max);
  const std::size_t space = text.find(' ');
  if (space == std::string_view::npos) return std::nullopt;
  const std::optional<std::int64_t> period = parse_integer(text.substr(space + 1));
  if (!period) return std::nullopt;
  const std::string_view quota = text.substr(0, space);
  if (quota == "max") return std::nullopt;
  const std::optional<std::int64_t> quota_us = parse_integer(quota);
  if (!quota_us) return std::nullopt;
  return quota_over_period(*quota_us, *period);
}

std::optional<double> parse_cfs_quota(std::string_view quota_us, std::string_view period_us) {
  const std::optional<std::int64_t> quota = parse_integer(trim_end(quota_us));
  const std::optional<std::int64_t> period = parse_integer(trim_end(period_us));
  if (!quota || !period) return std::nullopt;
  return quota_over_period(*quota, *period);  // -1, "no quota", is not positive
}

std::size_t threads_for_quota(double cpus) {
  if (!(cpus > 1)) return 1;  // also NaN
  if (cpus >= static_cast<double>(kMaxThreads)) return kMaxThreads;
  return static_cast<std::size_t>(std::ceil(cpus));
}

std::size_t usable_cpus_from(std::size_t affinity_cpus, std::optional<double> quota_cpus) {
  std::size_t cpus = std::max<std::size_t>(affinity_cpus, 1);
  if (quota_cpus) cpus = std::min(cpus, threads_for_quota(*quota_cpus));
  return cpus;
}

std::size_t affinity_cpus() {
  // The mask is as large as the kernel's CPU count, which may exceed CPU_SETSIZE (1024): grow
  // the set while the kernel says it is too small (EINVAL).
  for (std::size_t size = 1024; size <= (std::size_t{1} << 20); size *= 2) {
    cpu_set_t* set = CPU_ALLOC(size);
    if (set == nullptr) return 0;
    const std::size_t bytes = CPU_ALLOC_SIZE(size);
    CPU_ZERO_S(bytes, set);
    const int result = sched_getaffinity(0, bytes, set);
    const int error = errno;
    const int count = result == 0 ? CPU_COUNT_S(bytes, set) : 0;
    CPU_FREE(set);
    if (result == 0) return static_cast<std::size_t>(count);
    if (error != EINVAL) return 0;
  }
  return 0;
}

std::optional<double> cgroup_quota_cpus(const std::string& proc_self_cgroup,
                                        const std::string& cgroup_root) {
  const std::filesystem::path root(cgroup_root);
  std::optional<double> quota;
  if (const auto path = cgroup_v2_path(proc_self_cgroup)) {
    quota = smaller(quota, smallest_quota_up_from(root, *path, [](const auto& folder) {
                      const auto text = read_small_file(folder / "cpu.max");
                      return text ? parse_cpu_max(*text) : std::nullopt;
                    }));
  }
  if (const auto path = cgroup_v1_cpu_path(proc_self_cgroup)) {
    // The v1 cpu controller is mounted at cpu/ or at cpu,cpuacct/ (cpu/ then a link to it).
    for (const char* mount : {"cpu", "cpu,cpuacct", "cpuacct,cpu"}) {
      const std::filesystem::path folder = root / mount;
      std::error_code error;
      if (!std::filesystem::is_directory(folder, error)) continue;
      quota = smaller(quota, smallest_quota_up_from(folder, *path, [](const auto& group) {
                        const auto quota_us = read_small_file(group / "cpu.cfs_quota_us");
                        const auto period_us = read_small_file(group / "cpu.cfs_period_us");
                        return quota_us && period_us ? parse_cfs_quota(*quota_us, *period_us)
                                                     : std::nullopt;
                      }));
      break;
    }
  }
  return quota;
}

}  // namespace cpu_limits

std::size_t usable_cpus() {
  std::size_t affinity = cpu_limits::affinity_cpus();
  if (affinity == 0) affinity = hardware_threads();  // no mask to read: the machine's count
  const auto proc_self_cgroup = cpu_limits::read_small_file("/proc/self/cgroup");
  const std::optional<double> quota =
      proc_self_cgroup ? cpu_limits::cgroup_quota_cpus(*proc_self_cgroup, "/sys/fs/cgroup")
                       : std::nullopt;
  return cpu_limits::usable_cpus_from(affinity, quota);
}

}  // namespace cnn

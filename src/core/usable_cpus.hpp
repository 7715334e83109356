// How many CPUs this process may use: the pieces of cnn::usable_cpus() (parallel.hpp), each
// parser a pure function of the text of one file, so the tests can feed it fixture strings.
//
// Sources, all of them Linux's:
// - the affinity mask (sched_getaffinity): the CPUs the scheduler may run this thread on, set
//   by `taskset`, by a launcher that binds ranks to cores (OpenMPI does, by default), by Slurm;
// - a cgroup CPU quota, as containers (docker --cpus, Kubernetes CPU limits) and systemd's
//   CPUQuota= set it: the group may run `quota` microseconds of CPU time per `period`
//   microseconds, shared by all its threads. cgroup v2 writes it to cpu.max ("max 100000" when
//   there is none, "150000 100000" for 1.5 CPUs), cgroup v1 to cpu.cfs_quota_us (-1 when there is
//   none) and cpu.cfs_period_us. A group's quota also binds every group below it, so the
//   smallest quota from the process's group up to the root counts.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace cnn::cpu_limits {

// The process's cgroup, as /proc/self/cgroup names it (lines "hierarchy:controllers:path"):
// the cgroup v2 group is the line "0::/path"; a cgroup v1 group with the cpu controller is the
// line whose comma-separated controllers include "cpu" ("4:cpu,cpuacct:/path"). nullopt when
// there is no such line.
std::optional<std::string> cgroup_v2_path(std::string_view proc_self_cgroup);
std::optional<std::string> cgroup_v1_cpu_path(std::string_view proc_self_cgroup);

// The quota in CPUs (quota / period), or nullopt when there is none ("max", a quota of -1) or the
// text is not what the kernel writes (a garbled file is ignored, not trusted).
// cgroup v2 cpu.max: "<quota|max> <period>\n".
std::optional<double> parse_cpu_max(std::string_view cpu_max);
// cgroup v1: the contents of cpu.cfs_quota_us ("-1" or microseconds) and cpu.cfs_period_us.
std::optional<double> parse_cfs_quota(std::string_view quota_us, std::string_view period_us);

// Threads for a quota of `cpus` CPUs: rounded up, at least 1. Up, because a thread fewer leaves
// the fraction unused for the whole run, while a thread more only runs the quota out a little
// before the end of each period (100 ms by default) and waits for the next: 1.5 CPUs give 2
// threads, which together get 1.5 CPUs of work done per second, where 1 thread would get 1.
std::size_t threads_for_quota(double cpus);

// The rule: the affinity mask's count, lowered to the quota's threads when a quota is set; at
// least 1 (an empty or unreadable mask counts as 1).
std::size_t usable_cpus_from(std::size_t affinity_cpus, std::optional<double> quota_cpus);

// The thin readers of the files: the calling thread's affinity count (0 when it cannot be read),
// and the smallest quota from the process's cgroup up to the root, v2 and v1 (nullopt: none).
// `cgroup_root` is where the cgroup file systems are mounted (/sys/fs/cgroup).
std::size_t affinity_cpus();
std::optional<double> cgroup_quota_cpus(const std::string& proc_self_cgroup,
                                        const std::string& cgroup_root);

}  // namespace cnn::cpu_limits

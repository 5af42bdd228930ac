// One scheduling pass (mlforge/scheduler.h) at 1k / 10k / 100k queued jobs on 1,000 nodes, the
// workload of benchmarks/python/scheduler_bench.py: nodes of 64 cpus / 512 GiB / 8 gpus about 85%
// busy with running jobs; queued jobs from 8 weighted tenants with 1-16 cpus, 4-64 GiB, 0-2 gpus,
// priorities 0-9, submitted within the last two hours, max run time 1-120 minutes; no preemption.
// Each pass runs on a freshly built scheduler (building is not timed).
#include <benchmark/benchmark.h>

#include <array>
#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "mlforge/scheduler.h"

namespace {

namespace ms = mlforge::scheduler;
constexpr double kNow = 1'000'000.0;
constexpr int kNodes = 1000;

struct Workload {
  std::vector<ms::JobSpec> jobs;                   // running ones first, then the queue
  std::vector<std::pair<std::int64_t, std::int64_t>> running;  // (job, node)
};

Workload make_workload(int queued, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  auto pick = [&](int n) { return static_cast<int>(rng() % static_cast<std::uint64_t>(n)); };
  auto uniform = [&](double span) { return std::uniform_real_distribution<double>(0.0, span)(rng); };
  constexpr std::array<double, 5> kCpus{1, 2, 4, 8, 16};
  constexpr std::array<double, 5> kGpus{0, 0, 0, 1, 2};
  std::int64_t next_id = 0;
  auto spec = [&] {
    ms::JobSpec j;
    j.id = ++next_id;
    j.priority = pick(10);
    j.tenant = "t" + std::to_string(pick(8));
    j.resources.cpus = kCpus[pick(5)];
    j.resources.memory = 4096.0 * (1 + pick(16));
    j.resources.gpus = kGpus[pick(5)];
    j.submit_time = kNow - uniform(7200.0);
    j.expected_run_time = 60.0 * (1 + pick(60));
    j.max_run_time = 60.0 * (1 + pick(120));
    return j;
  };
  Workload w;
  for (int node = 0; node < kNodes; ++node) {  // ~85% busy
    std::array<double, 3> free{64.0, 524288.0, 8.0};
    while (free[0] > 64 * 0.15) {
      ms::JobSpec j = spec();
      const auto& r = j.resources;
      if (r.cpus > free[0] || r.memory > free[1] || r.gpus > free[2]) break;
      free = {free[0] - r.cpus, free[1] - r.memory, free[2] - r.gpus};
      w.running.emplace_back(j.id, node);
      w.jobs.push_back(std::move(j));
    }
  }
  for (int k = 0; k < queued; ++k) w.jobs.push_back(spec());
  return w;
}

std::unique_ptr<ms::Scheduler> build(const Workload& w) {
  ms::SchedulerConfig config;
  for (int t = 0; t < 8; ++t) config.tenant_weights.emplace_back("t" + std::to_string(t), 1.0 + t % 4);
  config.preemption = false;
  auto s = std::make_unique<ms::Scheduler>(config);
  for (int n = 0; n < kNodes; ++n) s->add_node({n, {64.0, 524288.0, 8.0, {}}});
  s->submit(w.jobs);
  for (const auto& [job, node] : w.running) s->restore_running(job, {node}, kNow - 600.0);
  return s;
}

void BM_SchedulePass(benchmark::State& state) {
  const Workload w = make_workload(static_cast<int>(state.range(0)), 0);
  std::size_t starts = 0;
  for (auto _ : state) {
    state.PauseTiming();
    auto s = build(w);
    state.ResumeTiming();
    auto decisions = s->schedule(kNow);
    benchmark::DoNotOptimize(decisions.data());
    starts = decisions.size();
    state.PauseTiming();
    s.reset();  // destroying 100k jobs is not part of the pass
    state.ResumeTiming();
  }
  state.counters["queued"] = static_cast<double>(state.range(0));
  state.counters["running"] = static_cast<double>(w.running.size());
  state.counters["decisions"] = static_cast<double>(starts);
  state.SetItemsProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_SchedulePass)->Arg(1'000)->Arg(10'000)->Arg(100'000)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace

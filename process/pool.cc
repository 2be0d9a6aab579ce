// mp::Pool's methods: each hands its work to the engine (pool_core.h) in
// the shape it needs - chunks (map_chunks.h), one call, or a stream
// (imap_stream.h).
#include "mp/pool.h"

#include <memory>
#include <utility>

#include "process/async_result_state.h"
#include "process/imap_stream.h"
#include "process/map_chunks.h"
#include "process/pool_core.h"
#include "process/pool_protocol.h"

namespace mp {
namespace {

PoolOptions WithProcesses(int processes) {
  PoolOptions options;
  options.processes = processes;
  return options;
}

}  // namespace

Pool::Pool(int processes) : Pool(WithProcesses(processes)) {}

Pool::Pool(PoolOptions options)
    : core_(std::make_shared<internal::PoolCore>(std::move(options))) {}

Pool::~Pool() { core_->Terminate(); }

void Pool::close() { core_->Close(); }
void Pool::join() { core_->Join(); }
void Pool::terminate() { core_->Terminate(); }
int Pool::processes() const { return core_->processes(); }

internal::ResultHandle Pool::SubmitMap(const internal::FunctionRef& fn,
                                       Object::List items, size_t chunksize,
                                       internal::CompletionCallback done) {
  return internal::ResultHandle(internal::SubmitChunks(
      *core_, internal::LocateFunction(fn, fn.unary != nullptr),
      std::move(items), chunksize, std::move(done)));
}

internal::ResultHandle Pool::SubmitApply(const internal::FunctionRef& fn,
                                         Object args,
                                         internal::CompletionCallback done) {
  auto state = std::make_shared<internal::ResultState>(std::move(done));
  internal::Job job;
  job.fn = internal::LocateFunction(fn, /*bare_items=*/false);
  job.SetItems(Object::List{std::move(args)});
  job.deliver = [state](internal::Outcome o) {
    if (o.ok) o.value = Object(o.value.as_list()[0]);
    state->Complete(std::move(o));
  };
  core_->Push(std::move(job));
  return internal::ResultHandle(std::move(state));
}

internal::StreamHandle Pool::SubmitStream(
    const internal::FunctionRef& fn, std::function<bool(Object&)> next_input,
    size_t chunksize, bool ordered) {
  return internal::StreamHandle(internal::ImapStream::Create(
      core_, internal::LocateFunction(fn, fn.unary != nullptr),
      std::move(next_input), chunksize, ordered));
}

}  // namespace mp

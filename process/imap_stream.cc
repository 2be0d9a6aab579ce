#include "process/imap_stream.h"

#include <utility>

namespace mp::internal {

std::shared_ptr<ImapStream> ImapStream::Create(
    std::shared_ptr<PoolCore> core, LocatedFunction fn,
    std::function<bool(Object&)> next_input, size_t chunksize, bool ordered) {
  return std::shared_ptr<ImapStream>(
      new ImapStream(std::move(core), std::move(fn), std::move(next_input),
                     chunksize, ordered));
}

ImapStream::ImapStream(std::shared_ptr<PoolCore> core, LocatedFunction fn,
                       std::function<bool(Object&)> next_input,
                       size_t chunksize, bool ordered)
    : core_(std::move(core)),
      fn_(std::move(fn)),
      chunksize_(chunksize == 0 ? 1 : chunksize),
      ordered_(ordered),
      window_(static_cast<size_t>(core_->processes()) * 2),
      next_input_(std::move(next_input)) {}

void ImapStream::SubmitMore() {
  while (!input_done_ && next_submit_ - consumed_chunks_ < window_) {
    Job job;
    job.fn = fn_;
    Object::List items;
    Object item;
    while (items.size() < chunksize_) {
      bool more;
      try {
        more = next_input_(item);
      } catch (...) {
        input_error_ = std::current_exception();
        error_index_ = next_submit_++;
        input_done_ = true;
        return;
      }
      if (!more) {
        input_done_ = true;
        break;
      }
      items.push_back(std::move(item));
    }
    if (items.empty()) break;
    job.SetItems(std::move(items));
    const size_t index = next_submit_++;
    // The stream may be dropped before its chunks complete.
    std::weak_ptr<ImapStream> weak = weak_from_this();
    job.deliver = [weak, index](Outcome o) {
      if (auto self = weak.lock()) {
        absl::MutexLock lock(&self->mu_);
        self->done_.emplace(index, std::move(o));
      }
    };
    // Push may deliver at once (a closed pool), which takes mu_.
    mu_.Unlock();
    core_->Push(std::move(job));
    mu_.Lock();
  }
}

bool ImapStream::Next(Object& out) {
  absl::MutexLock lock(&mu_);
  SubmitMore();
  while (ready_.empty()) {
    if (input_error_ && consumed_chunks_ == error_index_) {
      ++next_yield_;
      ++consumed_chunks_;
      std::rethrow_exception(std::exchange(input_error_, nullptr));
    }
    if (input_done_ && consumed_chunks_ == next_submit_) return false;
    mu_.Await(absl::Condition(this, &ImapStream::NextChunkDone));
    auto it = ordered_ ? done_.find(next_yield_) : done_.begin();
    Outcome o = std::move(it->second);
    done_.erase(it);
    ++next_yield_;
    ++consumed_chunks_;
    SubmitMore();
    if (!o.ok) o.Throw();
    for (const Object& item : o.value.as_list()) ready_.push_back(item);
  }
  out = std::move(ready_.front());
  ready_.pop_front();
  return true;
}

// mp::IMapResult's handle (mp/detail/pool_results.h).

StreamHandle::StreamHandle(std::shared_ptr<ImapStream> stream)
    : stream_(std::move(stream)) {}

bool StreamHandle::Next(Object& out) const { return stream_->Next(out); }

}  // namespace mp::internal

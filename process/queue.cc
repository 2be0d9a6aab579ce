// mp::Queue, SimpleQueue and JoinableQueue (mp/queue.h): the bytes live in
// mp_shared's QueueRing; this layer encodes the items. It lives in
// mp_process, not mp_shared, because an item may hold manager proxies,
// which travel as ProxyRef + ManagerRef and are attached to this process's
// session on decode (EncodeTransfer/DecodeTransfer in task_codec.cc, the
// same as a Pipe message) - client code mp_shared may not see.
#include "mp/queue.h"

#include <string>

#include "common/fd_ref.h"
#include "mp/errors.h"
#include "process/task_codec.h"

namespace mp {
namespace internal {
namespace {

const char* VariantName(QueueVariant variant) {
  switch (variant) {
    case QueueVariant::kSimpleQueue:
      return "SimpleQueue";
    case QueueVariant::kJoinableQueue:
      return "JoinableQueue";
    default:
      return "Queue";
  }
}

}  // namespace

QueueBase::QueueBase(QueueVariant variant, int64_t maxsize)
    : handle_(
          std::make_shared<QueueHandle>(QueueRing::Create(variant, maxsize))) {}

QueueBase::QueueBase(QueueVariant variant, std::shared_ptr<Segment> segment)
    : handle_(std::make_shared<QueueHandle>(std::move(segment))) {
  if (handle_->ring.variant() != variant) {
    throw TypeError(std::string("expected mp::") + VariantName(variant) +
                    ", got mp::" + VariantName(handle_->ring.variant()));
  }
}

void QueueBase::CheckOpen() const {
  if (handle_->closed.load(std::memory_order_relaxed)) {
    throw ValueError(std::string(VariantName(handle_->ring.variant())) +
                     " is closed");
  }
}

void QueueBase::put(const Object& value, bool block, Timeout timeout) const {
  CheckOpen();
  // Shared memory cannot carry descriptors. (The encoder is iterative and
  // enforces the nesting limit, so this check needs no walk of its own.)
  std::vector<int> fds;
  const std::string bytes = EncodeTransfer(value, &fds);
  if (!fds.empty()) {
    throw TypeError(
        "a server-less shared object or a Connection cannot travel through "
        "a Queue; pass it as a Process argument");
  }
  if (!handle_->ring.Put(bytes, block, timeout)) throw Full("queue is full");
}

Object QueueBase::get(bool block, Timeout timeout) const {
  CheckOpen();
  // Reused: a get allocates nothing for items of sizes seen before.
  thread_local std::string bytes;
  if (!handle_->ring.Get(&bytes, block, timeout)) throw Empty("queue is empty");
  Object value = DecodeTransfer(bytes, ReceivedFds());
  if (bytes.capacity() > (size_t{1} << 20)) std::string().swap(bytes);
  return value;
}

int64_t QueueBase::qsize() const { return handle_->ring.Size(); }

bool QueueBase::full() const {
  const int64_t max = handle_->ring.maxsize();
  return max > 0 && qsize() >= max;
}

}  // namespace internal

void JoinableQueue::task_done() const { handle_->ring.TaskDone(); }

bool JoinableQueue::join(Timeout timeout) const {
  return handle_->ring.Join(timeout);
}

Object to_object(const Queue& queue) {
  return internal::SegmentToObject(queue.segment());
}
Object to_object(const SimpleQueue& queue) {
  return internal::SegmentToObject(queue.segment());
}
Object to_object(const JoinableQueue& queue) {
  return internal::SegmentToObject(queue.segment());
}

void from_object(const Object& object, Queue& queue) {
  auto segment = internal::SegmentFromObject(
      object, internal::SegmentKind::kQueue, 0, "mp::Queue");
  const auto variant = internal::QueueRing(segment).variant();
  if (variant == internal::QueueVariant::kSimpleQueue) {
    throw TypeError("expected mp::Queue, got mp::SimpleQueue");
  }
  queue = Queue(variant, std::move(segment));
}

void from_object(const Object& object, SimpleQueue& queue) {
  queue = SimpleQueue(internal::SegmentFromObject(
      object, internal::SegmentKind::kQueue, 0, "mp::SimpleQueue"));
}

void from_object(const Object& object, JoinableQueue& queue) {
  queue = JoinableQueue(internal::SegmentFromObject(
      object, internal::SegmentKind::kQueue, 0, "mp::JoinableQueue"));
}

}  // namespace mp

// The shared memory of mp::Queue, SimpleQueue and JoinableQueue.
//
// Layout (one memfd segment): the SegmentHeader, QueueState (a robust
// process-shared mutex, the committed counters, futex words), then from
// file offset 4096 the data ring: kRingBytes of *virtual* space. An item is
// a record [uint64 length][bytes][pad to 8] at a byte position that only
// grows (its offset is position % kRingBytes); head..tail are the queued
// records.
//
// Why a sparse 4 GiB ring rather than a fixed small one or a spill segment
// per large item: memfd pages exist only once written (the memfd is sized
// without reserving memory), and consumed pages are given back with
// fallocate(PUNCH_HOLE), so the ring costs the memory of what is queued, as
// Python's pipe plus feeder-thread buffer does, while put never blocks on
// bytes in an unbounded queue and an item of any size the codec can make
// (protobuf stops at 2 GiB) fits without a second descriptor - which a
// process that received the queue earlier could not get. The mapping is
// virtual address space only (4 GiB of 128 TiB). When the queue becomes
// empty the positions restart at 0, so a ping-pong reuses the same warm
// pages; otherwise consumed pages are punched 1 MiB at a time.
//
// Kill safety: everything happens under the robust mutex, and the state
// that says what is queued (head, tail, count, unfinished) lives in two
// copies, one of which `current` names. A put copies the record beyond tail
// and a get copies the record at head out, then each writes the new
// counters into the other copy and flips `current` - one aligned store. A
// process killed anywhere before that store changed nothing that is
// visible; after it, its operation is complete. The next locker gets
// EOWNERDEAD and only releases pages a dead producer may have written past
// tail. Hints outside the commit (punched, reserved_high, waiter counts)
// are only ever conservative.
#include "mp/detail/queue_ring.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>

#include <algorithm>
#include <atomic>
#include <climits>
#include <cstring>
#include <mutex>
#include <new>
#include <string>

#include "mp/errors.h"
#include "shared/futex.h"
#include "shared/robust_lock.h"
#include "shared/segment.h"

namespace mp::internal {
namespace {

constexpr size_t kPage = 4096;
// The ring starts at file offset kPage, so that its pages can be punched.
constexpr size_t kRingOffset = kPage - kPayloadOffset;  // in the payload
// Consumed pages are released in steps of this much (a punch costs a system
// call; a 1 MiB step makes it ~1% of moving the data).
constexpr uint64_t kReleaseStep = uint64_t{1} << 20;
constexpr uint32_t kQueueMagic = 0x6d707175;  // "mpqu"

struct Committed {
  uint64_t head;        // position of the oldest record
  uint64_t tail;        // position past the newest record
  uint64_t count;       // records queued
  uint64_t unfinished;  // JoinableQueue: put and not yet task_done()
};

struct QueueState {
  pthread_mutex_t mutex;  // guards all but the atomics
  uint32_t magic;
  uint32_t variant;
  int64_t maxsize;      // 0: unbounded
  uint64_t ring_bytes;  // kRingBytes (smaller in tests), a multiple of kPage
  Committed committed[2];
  std::atomic<uint32_t> current;  // committed[current & 1] is the truth
  // Hints (see above).
  uint64_t punched;        // pages below this position were released
  uint64_t reserved_high;  // the furthest position a put wrote to
  // Futex words, bumped under the mutex; waiters sleep unlocked.
  std::atomic<uint32_t> item_seq;   // a put committed
  std::atomic<uint32_t> space_seq;  // a get committed
  std::atomic<uint32_t> done_seq;   // unfinished reached 0
  std::atomic<uint32_t> getters, putters, joiners;
};
static_assert(sizeof(QueueState) <= kRingOffset);

std::mutex hook_mutex;
std::function<void(QueueTestPoint)>* test_hook = nullptr;
std::atomic<bool> has_test_hook{false};

void RunTestHook(QueueTestPoint point) {
  if (!has_test_hook.load(std::memory_order_relaxed)) return;
  std::lock_guard guard(hook_mutex);
  if (test_hook) (*test_hook)(point);
}

uint64_t RecordBytes(uint64_t length) { return 8 + ((length + 7) & ~7ull); }

QueueState* StateOf(void* state) { return static_cast<QueueState*>(state); }

std::byte* Ring(QueueState* s) {
  return reinterpret_cast<std::byte*>(s) + kRingOffset;
}

const Committed& Now(QueueState* s) {
  return s->committed[s->current.load(std::memory_order_relaxed) & 1];
}

// The single step that makes an operation happen (see the file comment).
void Commit(QueueState* s, const Committed& next) {
  const uint32_t other = (s->current.load(std::memory_order_relaxed) & 1) ^ 1;
  s->committed[other] = next;
  s->current.store(other, std::memory_order_release);
}

// Copies between a buffer and the ring at `position`, wrapping.
void CopyIn(QueueState* s, uint64_t position, const void* from, size_t n) {
  const uint64_t offset = position % s->ring_bytes;
  const size_t first =
      static_cast<size_t>(std::min<uint64_t>(n, s->ring_bytes - offset));
  std::memcpy(Ring(s) + offset, from, first);
  if (first < n) {
    std::memcpy(Ring(s), static_cast<const std::byte*>(from) + first,
                n - first);
  }
}

void CopyOut(QueueState* s, uint64_t position, void* to, size_t n) {
  const uint64_t offset = position % s->ring_bytes;
  const size_t first =
      static_cast<size_t>(std::min<uint64_t>(n, s->ring_bytes - offset));
  std::memcpy(to, Ring(s) + offset, first);
  if (first < n) {
    std::memcpy(static_cast<std::byte*>(to) + first, Ring(s), n - first);
  }
}

// Gives the whole pages of positions [from, to) back to the kernel (their
// contents become zeros). Only for positions nobody will read, and never
// below `tail` - ring_bytes: positions one ring apart share their offset,
// so those below hold the queued records [head, tail). The clamps come
// before the rounding, which then keeps the pages of both ends.
void Release(const Segment& segment, uint64_t from, uint64_t to,
             uint64_t tail) {
  const uint64_t ring_bytes = StateOf(segment.payload())->ring_bytes;
  if (tail > ring_bytes) from = std::max(from, tail - ring_bytes);
  if (to > from && to - from > ring_bytes) from = to - ring_bytes;
  from = (from + kPage - 1) & ~(kPage - 1);
  to &= ~(kPage - 1);
  if (to <= from) return;
  auto punch = [&](uint64_t offset, uint64_t n) {
    if (n == 0) return;
    // Best effort: a failure leaves memory in use, nothing else.
    (void)fallocate(segment.fd(), FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
                    static_cast<off_t>(kPage + offset), static_cast<off_t>(n));
  };
  const uint64_t offset = from % ring_bytes;
  const uint64_t n = to - from;
  const uint64_t first = std::min(n, ring_bytes - offset);
  punch(offset, first);
  punch(0, n - first);
}

// Holds the queue's mutex; repairs the hints after a holder died.
class Locked {
 public:
  Locked(const Segment& segment, QueueState* s, const Deadline& deadline)
      : s_(s) {
    // The mutex is only held for a copy, never across a wait, so a call
    // that does not block (or has no timeout) just waits its turn.
    const Deadline lock_by =
        deadline.forever() || deadline.expired() ? Deadline{} : deadline;
    const LockOutcome outcome = LockMutex(&s->mutex, lock_by);
    if (outcome == LockOutcome::kBusy) return;
    locked_ = true;
    if (outcome == LockOutcome::kOwnerDied) {
      // A holder died before or after its commit: the committed state is
      // whole either way. A producer may have written beyond tail; an
      // emptying get may have died before resetting the hints.
      const Committed& c = Now(s);
      if (s->reserved_high > c.tail) {
        Release(segment, c.tail, s->reserved_high, c.tail);
      }
      s->reserved_high = c.tail;
      if (s->punched > c.head) s->punched = 0;
    }
  }
  ~Locked() {
    if (locked_) pthread_mutex_unlock(&s_->mutex);
  }
  Locked(const Locked&) = delete;
  Locked& operator=(const Locked&) = delete;

  bool locked() const { return locked_; }
  void Unlock() {
    pthread_mutex_unlock(&s_->mutex);
    locked_ = false;
  }
  // Unlocks, sleeps on `word` (read under the lock) until it changes or
  // the deadline, relocks. False when the deadline passed first (still
  // locked if it could relock).
  bool Wait(const Segment& segment, std::atomic<uint32_t>* word,
            std::atomic<uint32_t>* waiters, const Deadline& deadline) {
    if (deadline.expired()) return false;
    const uint32_t seen = word->load();
    waiters->fetch_add(1);
    Unlock();
    const bool in_time = FutexWait(word, seen, deadline);
    waiters->fetch_sub(1);
    Locked again(segment, s_, deadline);
    if (!again.locked_) return false;
    again.locked_ = false;
    locked_ = true;
    return in_time || !deadline.expired();
  }

 private:
  QueueState* s_;
  bool locked_ = false;
};

void Wake(std::atomic<uint32_t>* word, std::atomic<uint32_t>* waiters, int n) {
  if (waiters->load() > 0) FutexWake(word, n);
}

}  // namespace

std::shared_ptr<Segment> QueueRing::Create(QueueVariant variant,
                                           int64_t maxsize,
                                           uint64_t ring_bytes) {
  if (ring_bytes < kPage || ring_bytes % kPage != 0 ||
      ring_bytes > kRingBytes) {
    throw ValueError("queue ring size must be a multiple of 4096 up to 4 GiB");
  }
  auto segment = Segment::Create(SegmentKind::kQueue, kRingOffset + ring_bytes,
                                 0, 0, 0, 0);
  auto* s = new (segment->payload()) QueueState{};
  InitRobustMutex(&s->mutex);
  s->magic = kQueueMagic;
  s->variant = static_cast<uint32_t>(variant);
  s->maxsize = maxsize > 0 ? maxsize : 0;
  s->ring_bytes = ring_bytes;
  return segment;
}

QueueRing::QueueRing(std::shared_ptr<Segment> segment)
    : segment_(std::move(segment)) {
  if (!segment_ || segment_->kind() != SegmentKind::kQueue ||
      segment_->header().payload_size < kRingOffset + kPage) {
    throw TypeError("expected a queue, got another shared object");
  }
  state_ = segment_->payload();
  const QueueState* s = StateOf(state_);
  if (s->magic != kQueueMagic ||
      segment_->header().payload_size != kRingOffset + s->ring_bytes ||
      s->ring_bytes % kPage != 0) {
    throw ValueError("not a queue segment (bad header)");
  }
  // A core dump need not contain the ring (each process maps it).
  madvise(Ring(StateOf(state_)), s->ring_bytes, MADV_DONTDUMP);
}

QueueVariant QueueRing::variant() const {
  return static_cast<QueueVariant>(StateOf(state_)->variant);
}

int64_t QueueRing::maxsize() const { return StateOf(state_)->maxsize; }

bool QueueRing::Put(std::string_view item, bool block,
                    const Timeout& timeout) const {
  QueueState* s = StateOf(state_);
  const uint64_t record = RecordBytes(item.size());
  if (record > s->ring_bytes) {
    throw ValueError("queue item too large: " + std::to_string(item.size()) +
                     " bytes encoded (at most " +
                     std::to_string(s->ring_bytes - 8) + ")");
  }
  const Deadline deadline = block ? Deadline::After(timeout) : Deadline::Now();
  Locked lock(*segment_, s, deadline);
  if (!lock.locked()) return false;
  while (s->maxsize > 0 && Now(s).count >= static_cast<uint64_t>(s->maxsize)) {
    if (!lock.Wait(*segment_, &s->space_seq, &s->putters, deadline)) {
      if (!lock.locked()) return false;
      if (Now(s).count >= static_cast<uint64_t>(s->maxsize)) return false;
    }
  }
  Committed c = Now(s);
  if (c.tail - c.head + record > s->ring_bytes) {
    throw MemoryError(
        "queue full of bytes: " + std::to_string(c.tail - c.head) +
        " bytes queued, no room for " + std::to_string(record) +
        " more (at most " + std::to_string(s->ring_bytes) + ")");
  }
  const uint64_t at = c.tail;
  s->reserved_high = std::max(s->reserved_high, at + record);
  const uint64_t length = item.size();
  CopyIn(s, at, &length, sizeof length);
  CopyIn(s, at + 8, item.data(), item.size());
  RunTestHook(QueueTestPoint::kPutCopied);
  c.tail = at + record;
  ++c.count;
  if (variant() == QueueVariant::kJoinableQueue) ++c.unfinished;
  Commit(s, c);
  s->item_seq.fetch_add(1);
  lock.Unlock();
  Wake(&s->item_seq, &s->getters, 1);
  return true;
}

bool QueueRing::Get(std::string* out, bool block,
                    const Timeout& timeout) const {
  QueueState* s = StateOf(state_);
  const Deadline deadline = block ? Deadline::After(timeout) : Deadline::Now();
  Locked lock(*segment_, s, deadline);
  if (!lock.locked()) return false;
  while (Now(s).count == 0) {
    if (!lock.Wait(*segment_, &s->item_seq, &s->getters, deadline)) {
      if (!lock.locked() || Now(s).count == 0) return false;
    }
  }
  Committed c = Now(s);
  uint64_t length = 0;
  CopyOut(s, c.head, &length, sizeof length);
  const uint64_t record = RecordBytes(length);
  if (length > s->ring_bytes || record > c.tail - c.head) {
    throw RuntimeError("queue memory is corrupt (record of " +
                       std::to_string(length) + " bytes)");
  }
  out->resize(static_cast<size_t>(length));
  CopyOut(s, c.head + 8, out->data(), out->size());
  RunTestHook(QueueTestPoint::kGetCopied);
  const uint64_t old_head = c.head;
  c.head += record;
  --c.count;
  const bool emptied = c.count == 0;
  if (emptied) c.head = c.tail = 0;  // positions restart: warm pages again
  Commit(s, c);
  // Now the hints: pages nobody can read any more go back to the kernel.
  if (emptied) {
    const uint64_t high = std::max(s->reserved_high, old_head + record);
    if (s->punched > 0 || high > kReleaseStep) {
      Release(*segment_, std::max(s->punched, kReleaseStep), high, 0);
    }
    s->punched = 0;
    s->reserved_high = 0;
  } else if (c.head - s->punched >= kReleaseStep) {
    Release(*segment_, s->punched, c.head, c.tail);
    s->punched = c.head & ~(kPage - 1);
  }
  s->space_seq.fetch_add(1);
  lock.Unlock();
  Wake(&s->space_seq, &s->putters, 1);
  return true;
}

int64_t QueueRing::Size() const {
  QueueState* s = StateOf(state_);
  Locked lock(*segment_, s, Deadline{});
  return static_cast<int64_t>(Now(s).count);
}

int64_t QueueRing::Unfinished() const {
  QueueState* s = StateOf(state_);
  Locked lock(*segment_, s, Deadline{});
  return static_cast<int64_t>(Now(s).unfinished);
}

void QueueRing::TaskDone() const {
  QueueState* s = StateOf(state_);
  Locked lock(*segment_, s, Deadline{});
  Committed c = Now(s);
  if (c.unfinished == 0) {
    throw ValueError("task_done() called too many times");
  }
  --c.unfinished;
  Commit(s, c);
  if (c.unfinished == 0) s->done_seq.fetch_add(1);
  lock.Unlock();
  if (c.unfinished == 0) Wake(&s->done_seq, &s->joiners, INT_MAX);
}

bool QueueRing::Join(const Timeout& timeout) const {
  QueueState* s = StateOf(state_);
  const Deadline deadline = Deadline::After(timeout);
  Locked lock(*segment_, s, deadline);
  if (!lock.locked()) return false;
  while (Now(s).unfinished > 0) {
    if (!lock.Wait(*segment_, &s->done_seq, &s->joiners, deadline)) {
      if (!lock.locked() || Now(s).unfinished > 0) return false;
    }
  }
  return true;
}

void SetQueueTestHook(std::function<void(QueueTestPoint)> hook) {
  std::lock_guard guard(hook_mutex);
  delete test_hook;
  test_hook =
      hook ? new std::function<void(QueueTestPoint)>(std::move(hook)) : nullptr;
  has_test_hook.store(test_hook != nullptr);
}

}  // namespace mp::internal

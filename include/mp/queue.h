// Server-less queues, as Python's top-level multiprocessing.Queue,
// SimpleQueue and JoinableQueue: FIFO queues of mp::Object in shared memory
// (one memfd segment), with no manager, no server and no feeder thread.
//
//   mp::Queue q;                      // Queue(); mp::Queue q(10): maxsize 10
//   mp::Process p(f, q);              // void f(mp::Queue q) { q.put(42); }
//   p.start(); q.get(10s);            // 42
//
// Items: any mp::Object, manager proxies included (the receiver attaches
// them to its own session, as with a Pipe; keep the referent alive - hold a
// proxy - until it is received). Each item is encoded once, on put. A
// server-less object (Value, Lock, Queue, a Connection end...) inside an
// item is a TypeError: pass it to the child as a Process argument instead.
// Items of any size the codec can encode fit (see shared/queue_ring.cc).
//
// Memory: a queue holds the memory of the items queued in it (pages are
// given back as they are consumed), but each process that maps a queue
// reserves 4 GiB of address space for it (virtual only: a limit on it,
// ulimit -v, makes creating or receiving a queue a MemoryError/ValueError).
//
// Handles: cheap to copy; every copy in any process (fork children, and
// spawn/forkserver children given it as a Process or Pool argument) refers
// to the same queue, whose memory is freed when the last handle anywhere is
// gone, also after SIGKILL. close() closes this process's handle (and its
// copies in this process): later put/get through it raise ValueError
// ("Queue is closed"), as in Python.
//
// Blocking: put on a full bounded queue, get on an empty one and join wait
// at most their timeout (none: forever; block = false: not at all), then
// raise Full / Empty (join returns false). An unbounded queue (maxsize <=
// 0) never blocks a put.
//
// Death (SIGKILL) of a process in the middle of a put or a get never
// corrupts the queue for the others: an item is either still queued or was
// taken by exactly one get(), and a put either happened whole or not at
// all; JoinableQueue's count of unfinished tasks stays consistent with it.
//
// Thread safety: any thread of any process may call any method at once.
#ifndef MP_QUEUE_H_
#define MP_QUEUE_H_

#include <atomic>
#include <cstdint>
#include <memory>

#include "mp/detail/queue_ring.h"
#include "mp/object.h"
#include "mp/proxy.h"

namespace mp {

namespace internal {
// The handle the copies of a queue share in one process.
struct QueueHandle {
  explicit QueueHandle(std::shared_ptr<Segment> segment)
      : ring(std::move(segment)) {}
  QueueRing ring;
  std::atomic<bool> closed{false};
};

// What Queue, SimpleQueue and JoinableQueue share.
class QueueBase {
 public:
  // Full when the queue is at maxsize and stays so until the timeout (or at
  // once when not blocking).
  void put(const Object& value, bool block = true,
           Timeout timeout = std::nullopt) const;
  // put(v, 10s): Python's put(obj, timeout=10), blocking.
  void put(const Object& value, Timeout timeout) const {
    put(value, true, timeout);
  }
  void put_nowait(const Object& value) const { put(value, false); }
  // Empty when nothing arrives by the timeout (or at once when not
  // blocking).
  Object get(bool block = true, Timeout timeout = std::nullopt) const;
  // get(10s): Python's get(timeout=10), blocking.
  Object get(Timeout timeout) const { return get(true, timeout); }
  Object get_nowait() const { return get(false); }
  // Items queued right now (exact, but stale as soon as it returns).
  int64_t qsize() const;
  bool empty() const { return qsize() == 0; }
  bool full() const;
  int64_t maxsize() const { return handle_->ring.maxsize(); }
  // Closes this process's handle (see above). Idempotent.
  void close() const { handle_->closed.store(true); }
  // Python's Queue.join_thread / cancel_join_thread: there is no feeder
  // thread, so nothing to wait for.
  void join_thread() const {}
  void cancel_join_thread() const {}

  const std::shared_ptr<Segment>& segment() const {
    return handle_->ring.segment();
  }

 protected:
  QueueBase(QueueVariant variant, int64_t maxsize);
  QueueBase(QueueVariant variant, std::shared_ptr<Segment> segment);
  void CheckOpen() const;

  std::shared_ptr<QueueHandle> handle_;
};
}  // namespace internal

class Queue : public internal::QueueBase {
 public:
  // maxsize <= 0: unbounded.
  explicit Queue(int64_t maxsize = 0)
      : QueueBase(internal::QueueVariant::kQueue, maxsize) {}
  // A handle to an existing queue segment (from_object).
  Queue(internal::QueueVariant variant,
        std::shared_ptr<internal::Segment> segment)
      : QueueBase(variant, std::move(segment)) {}

 protected:
  Queue(internal::QueueVariant variant, int64_t maxsize)
      : QueueBase(variant, maxsize) {}
};

// Python's SimpleQueue: put, get, empty, close (the rest works too).
class SimpleQueue : public internal::QueueBase {
 public:
  SimpleQueue() : QueueBase(internal::QueueVariant::kSimpleQueue, 0) {}
  explicit SimpleQueue(std::shared_ptr<internal::Segment> segment)
      : QueueBase(internal::QueueVariant::kSimpleQueue, std::move(segment)) {}
};

class JoinableQueue : public Queue {
 public:
  explicit JoinableQueue(int64_t maxsize = 0)
      : Queue(internal::QueueVariant::kJoinableQueue, maxsize) {}
  explicit JoinableQueue(std::shared_ptr<internal::Segment> segment)
      : Queue(internal::QueueVariant::kJoinableQueue, std::move(segment)) {}

  // Marks one item got earlier as processed; ValueError when called more
  // times than items were put.
  void task_done() const;
  // Waits until every item put has been marked done; false on timeout.
  bool join(Timeout timeout = std::nullopt) const;
};

// Process and Pool arguments (see mp/process.h). A JoinableQueue is also
// accepted where a Queue is expected, as in Python.
Object to_object(const Queue& queue);
Object to_object(const SimpleQueue& queue);
Object to_object(const JoinableQueue& queue);
void from_object(const Object& object, Queue& queue);
void from_object(const Object& object, SimpleQueue& queue);
void from_object(const Object& object, JoinableQueue& queue);

}  // namespace mp

#endif  // MP_QUEUE_H_

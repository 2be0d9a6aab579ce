// QueueProxy and JoinableQueueProxy: FIFO queues held by a manager
// (queue.Queue semantics). Blocked puts and gets are parked on the server
// and cancelled if the calling process dies, so a dead consumer never
// swallows an item it did not receive.
//
// Thread safety: any number of threads and processes may use one queue at
// once (the server serialises the operations). What blocks: put on a full
// queue, get on an empty one, and join until every item is done - each
// for at most its timeout (none: until it can proceed; the server's side
// costs no thread). Everything else is one round trip. Every call may
// throw ConnectionError or TimeoutError (see Timeout in mp/proxy.h).
#ifndef MP_QUEUE_PROXY_H_
#define MP_QUEUE_PROXY_H_

#include <cstdint>
#include <vector>

#include "mp/object.h"
#include "mp/proxy.h"

namespace mp {

class QueueProxy : public BaseProxy {
 public:
  QueueProxy() = default;
  using BaseProxy::BaseProxy;

  // Full when not blocking (or on timeout) and the queue is at maxsize.
  void put(const Object& value, bool block = true,
           Timeout timeout = std::nullopt) const;
  // put(value, 10s): Python's put(obj, timeout=10), blocking.
  void put(const Object& value, Timeout timeout) const {
    put(value, true, timeout);
  }
  void put_nowait(const Object& value) const { put(value, false); }
  // Empty when not blocking (or on timeout) and nothing arrives.
  Object get(bool block = true, Timeout timeout = std::nullopt) const;
  // get(10s): Python's get(timeout=10), blocking.
  Object get(Timeout timeout) const { return get(true, timeout); }
  Object get_nowait() const { return get(false); }
  // Batch forms: one round trip for many items. put_many puts in order
  // (waiting for room as needed); get_many returns 1..max_items items,
  // waiting only for the first.
  void put_many(const std::vector<Object>& values, bool block = true,
                Timeout timeout = std::nullopt) const;
  std::vector<Object> get_many(size_t max_items, bool block = true,
                               Timeout timeout = std::nullopt) const;
  void put_many(const std::vector<Object>& values, Timeout timeout) const {
    put_many(values, true, timeout);
  }
  std::vector<Object> get_many(size_t max_items, Timeout timeout) const {
    return get_many(max_items, true, timeout);
  }
  int64_t qsize() const;
  bool empty() const;
  bool full() const;
  // Calls parked on the queue right now: blocked gets and puts (for
  // monitoring and tests).
  int64_t waiting_getters() const;
  int64_t waiting_putters() const;
};

class JoinableQueueProxy : public QueueProxy {
 public:
  JoinableQueueProxy() = default;
  using QueueProxy::QueueProxy;

  // ValueError when called more times than items were put.
  void task_done() const;
  // Waits until every item put has been marked done; false on timeout.
  bool join(Timeout timeout = std::nullopt) const;
};

Object to_object(const QueueProxy& proxy);
void from_object(const Object& object, QueueProxy& proxy);
Object to_object(const JoinableQueueProxy& proxy);
void from_object(const Object& object, JoinableQueueProxy& proxy);

}  // namespace mp

#endif  // MP_QUEUE_PROXY_H_

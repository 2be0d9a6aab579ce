// What a Pool task ends with: its value, or the error it raised (or that
// ended it: a dead worker, a terminated pool).
#ifndef MP_PROCESS_TASK_OUTCOME_H_
#define MP_PROCESS_TASK_OUTCOME_H_

#include <string>
#include <utility>

#include "mp/errors.h"
#include "mp/object.h"

namespace mp::internal {

struct Outcome {
  bool ok = false;
  Object value;
  std::string error_type, error_message;
  // Where in the worker it happened (see RemoteError::traceback()).
  std::string error_traceback;

  static Outcome Value(Object value) {
    Outcome o;
    o.ok = true;
    o.value = std::move(value);
    return o;
  }
  static Outcome Failure(std::string type, std::string message,
                         std::string traceback = "") {
    Outcome o;
    o.error_type = std::move(type);
    o.error_message = std::move(message);
    o.error_traceback = std::move(traceback);
    return o;
  }
  // Keeps the type: a RemoteError is thrown again as the same RemoteError.
  static Outcome Failure(const Error& e) {
    if (const auto* remote = dynamic_cast<const RemoteError*>(&e)) {
      return Failure(remote->remote_type(), remote->remote_message(),
                     e.traceback());
    }
    return Failure(e.type_name(), e.message(), e.traceback());
  }
  // Throws the error as its own type (ThrowError).
  [[noreturn]] void Throw() const {
    ThrowError(error_type, error_message, error_traceback);
  }
};

}  // namespace mp::internal

#endif  // MP_PROCESS_TASK_OUTCOME_H_

// Python's augmented assignment (`x op= y`) on one stored item, for the
// containers' Inplace operations (v1::Inplace): the arithmetic, and the
// step that replaces the item under the container's lock.
#ifndef MP_SERVER_INPLACE_H_
#define MP_SERVER_INPLACE_H_

#include "mp/object.h"
#include "mp/v1/ops.pb.h"
#include "server/byte_quota.h"

namespace mp::server {

// `current op operand` with Python's semantics for bool, int, float, str,
// bytes, list and tuple: TypeError for operand types Python refuses
// ("unsupported operand type(s) for +=: 'str' and 'int'"), ZeroDivisionError
// for / // % by zero, ValueError for an int result outside int64 (Python's
// ints never overflow; ours are int64) and for a negative shift count.
// A repetition (seq *= n) is charged to `stored` before it is built - and
// refused beyond 2^28 elements even without limits, as list *= n is - so a
// small call cannot make the server allocate without bound.
Object InplaceResult(const v1::Inplace& op, const Object& current,
                     const Object& operand, StoredBytes* stored);

// Replaces `*slot` with `*slot op operand`, charging the change to
// `stored`; nothing changes if it throws. Returns the new value; the old
// one is moved to `*dropped` so that it is destroyed outside the lock.
// The caller holds the container's lock.
Object ApplyInplaceLocked(const v1::Inplace& op, Object* slot,
                          const Object& operand, StoredBytes* stored,
                          Object* dropped);

}  // namespace mp::server

#endif  // MP_SERVER_INPLACE_H_

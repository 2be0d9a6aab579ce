// Python's slice and index normalisation, for list and Array.
#ifndef MP_SERVER_SLICE_H_
#define MP_SERVER_SLICE_H_

#include <cstdint>
#include <optional>

#include "mp/errors.h"
#include "mp/v1/ops.pb.h"

namespace mp::server {

struct SliceRange {
  int64_t start;
  int64_t stop;
  int64_t step;
  int64_t length;  // number of elements selected
};

inline std::optional<int64_t> OptionalOf(bool has, const v1::OptionalIndex& i) {
  return has ? std::optional<int64_t>(i.value()) : std::nullopt;
}

// PySlice_AdjustIndices: clamps start/stop into [0, len] with Python's rules
// for negative values, absent bounds and negative steps.
inline SliceRange AdjustSlice(std::optional<int64_t> start,
                              std::optional<int64_t> stop,
                              std::optional<int64_t> step, int64_t len) {
  SliceRange r{};
  r.step = step.value_or(1);
  if (r.step == 0) throw ValueError("slice step cannot be zero");
  auto clamp = [&](std::optional<int64_t> v, int64_t dflt) {
    if (!v) return dflt;
    int64_t x = *v;
    if (x < 0) {
      x += len;
      if (x < 0) x = r.step < 0 ? -1 : 0;
    } else if (x >= len) {
      x = r.step < 0 ? len - 1 : len;
    }
    return x;
  };
  r.start = clamp(start, r.step < 0 ? len - 1 : 0);
  r.stop = clamp(stop, r.step < 0 ? -1 : len);
  if (r.step < 0) {
    r.length = r.stop < r.start ? (r.start - r.stop - 1) / (-r.step) + 1 : 0;
  } else {
    r.length = r.start < r.stop ? (r.stop - r.start - 1) / r.step + 1 : 0;
  }
  return r;
}

// Normalises a possibly negative index; throws IndexError(`what`) when it
// is out of range.
inline size_t CheckIndex(int64_t index, size_t len, const char* what) {
  int64_t i = index < 0 ? index + static_cast<int64_t>(len) : index;
  if (i < 0 || i >= static_cast<int64_t>(len)) throw IndexError(what);
  return static_cast<size_t>(i);
}

}  // namespace mp::server

#endif  // MP_SERVER_SLICE_H_

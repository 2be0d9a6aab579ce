// Finding a function again in another process running the same program:
// by the loaded object (executable or shared library) that contains it and
// its offset from that object's load address. Address-space layout
// randomisation moves load addresses, never offsets.
#ifndef MP_PROCESS_CODE_LOCATION_H_
#define MP_PROCESS_CODE_LOCATION_H_

#include <cstdint>
#include <string>

namespace mp::internal {

struct CodeLocation {
  std::string object_path;  // "" for the main executable
  uint64_t offset = 0;
};

// Throws ProcessError when `code` is in no loaded object (e.g. JIT code).
CodeLocation Locate(const void* code);
// Throws ProcessError when the object is not loaded in this process.
void* Resolve(const CodeLocation& location);

}  // namespace mp::internal

#endif  // MP_PROCESS_CODE_LOCATION_H_

#include "process/code_location.h"

#include <link.h>

#include <cstring>

#include "mp/errors.h"

namespace mp::internal {
namespace {

struct Search {
  uintptr_t address = 0;
  const char* path = nullptr;  // for Resolve
  bool first = true;           // the first object is the main executable
  bool found = false;
  uintptr_t base = 0;
  std::string found_path;
};

int FindContaining(dl_phdr_info* info, size_t, void* data) {
  auto* s = static_cast<Search*>(data);
  const bool main_program = s->first;
  s->first = false;
  for (int i = 0; i < info->dlpi_phnum; ++i) {
    const ElfW(Phdr)& ph = info->dlpi_phdr[i];
    if (ph.p_type != PT_LOAD) continue;
    uintptr_t start = info->dlpi_addr + ph.p_vaddr;
    if (s->address >= start && s->address < start + ph.p_memsz) {
      s->found = true;
      s->base = info->dlpi_addr;
      s->found_path = main_program ? "" : info->dlpi_name;
      return 1;
    }
  }
  return 0;
}

int FindByPath(dl_phdr_info* info, size_t, void* data) {
  auto* s = static_cast<Search*>(data);
  const bool main_program = s->first;
  s->first = false;
  if ((main_program && *s->path == '\0') ||
      (!main_program && std::strcmp(info->dlpi_name, s->path) == 0)) {
    s->found = true;
    s->base = info->dlpi_addr;
    return 1;
  }
  return 0;
}

}  // namespace

CodeLocation Locate(const void* code) {
  Search s;
  s.address = reinterpret_cast<uintptr_t>(code);
  dl_iterate_phdr(&FindContaining, &s);
  if (!s.found) {
    throw ProcessError("cannot locate the task function in any loaded object");
  }
  return CodeLocation{s.found_path, s.address - s.base};
}

void* Resolve(const CodeLocation& location) {
  Search s;
  s.path = location.object_path.c_str();
  dl_iterate_phdr(&FindByPath, &s);
  if (!s.found) {
    throw ProcessError("the task's code object '" + location.object_path +
                       "' is not loaded in this process");
  }
  return reinterpret_cast<void*>(s.base + location.offset);
}

}  // namespace mp::internal

#include "process/symbolize.h"

#include <cxxabi.h>
#include <dlfcn.h>
#include <elf.h>
#include <fcntl.h>
#include <link.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>

#include "process/code_location.h"

namespace mp::internal {
namespace {

// A file mapped read-only for the duration of one lookup (the kernel pages
// in only the section headers and symbol tables that are read, not the
// debug info that makes up most of a RelWithDebInfo binary).
class MappedFile {
 public:
  explicit MappedFile(const std::string& path) {
    const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return;
    struct stat st {};
    if (fstat(fd, &st) == 0 && st.st_size > 0) {
      void* p = mmap(nullptr, static_cast<size_t>(st.st_size), PROT_READ,
                     MAP_PRIVATE, fd, 0);
      if (p != MAP_FAILED) {
        data_ = static_cast<const char*>(p);
        size_ = static_cast<size_t>(st.st_size);
      }
    }
    close(fd);
  }
  ~MappedFile() {
    if (data_ != nullptr) munmap(const_cast<char*>(data_), size_);
  }
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  // The `count` objects of type T at `offset`, or null when they are not
  // all inside the file.
  template <class T>
  const T* At(uint64_t offset, uint64_t count = 1) const {
    if (data_ == nullptr || offset > size_ ||
        count > (size_ - offset) / sizeof(T)) {
      return nullptr;
    }
    return reinterpret_cast<const T*>(data_ + offset);
  }
  size_t size() const { return size_; }

 private:
  const char* data_ = nullptr;
  size_t size_ = 0;
};

// The name of the function symbol of .symtab that contains `offset` (an
// address relative to the object's load bias, as st_value is), or null.
// Every offset and count read from the file is bounds-checked.
const char* SymtabLookup(const MappedFile& file, uint64_t offset) {
  const auto* ehdr = file.At<ElfW(Ehdr)>(0);
  if (ehdr == nullptr || std::memcmp(ehdr->e_ident, ELFMAG, SELFMAG) != 0 ||
      ehdr->e_ident[EI_CLASS] !=
          (sizeof(void*) == 8 ? ELFCLASS64 : ELFCLASS32) ||
      ehdr->e_shentsize != sizeof(ElfW(Shdr))) {
    return nullptr;
  }
  const auto* sections = file.At<ElfW(Shdr)>(ehdr->e_shoff, ehdr->e_shnum);
  if (sections == nullptr) return nullptr;
  for (size_t i = 0; i < ehdr->e_shnum; ++i) {
    const ElfW(Shdr)& symtab = sections[i];
    if (symtab.sh_type != SHT_SYMTAB || symtab.sh_link >= ehdr->e_shnum) {
      continue;
    }
    const ElfW(Shdr)& strtab = sections[symtab.sh_link];
    const uint64_t count = symtab.sh_size / sizeof(ElfW(Sym));
    const auto* symbols = file.At<ElfW(Sym)>(symtab.sh_offset, count);
    const char* names = file.At<char>(strtab.sh_offset, strtab.sh_size);
    if (symbols == nullptr || names == nullptr) continue;
    for (uint64_t k = 0; k < count; ++k) {
      const ElfW(Sym)& sym = symbols[k];
      const int type = ELF64_ST_TYPE(sym.st_info);
      if ((type != STT_FUNC && type != STT_GNU_IFUNC) ||
          sym.st_shndx == SHN_UNDEF || offset < sym.st_value ||
          offset - sym.st_value >= sym.st_size ||
          sym.st_name >= strtab.sh_size) {
        continue;
      }
      const char* name = names + sym.st_name;
      // The name must end inside the string table.
      if (std::memchr(name, '\0', strtab.sh_size - sym.st_name) == nullptr) {
        continue;
      }
      return name;
    }
  }
  return nullptr;
}

}  // namespace

std::string Demangle(const char* name) {
  int status = 0;
  char* readable = abi::__cxa_demangle(name, nullptr, nullptr, &status);
  std::string out = status == 0 && readable != nullptr ? readable : name;
  std::free(readable);
  return out;
}

std::string FunctionName(const void* code) {
  const auto address = reinterpret_cast<uintptr_t>(code);
  Dl_info info{};
  void* symbol_entry = nullptr;
  if (dladdr1(code, &info, &symbol_entry, RTLD_DL_SYMENT) != 0 &&
      info.dli_sname != nullptr && symbol_entry != nullptr) {
    const auto* sym = static_cast<const ElfW(Sym)*>(symbol_entry);
    // dladdr names the nearest exported symbol below the address, which
    // need not be the function containing it.
    const auto start = reinterpret_cast<uintptr_t>(info.dli_saddr);
    if (address >= start && address - start < sym->st_size) {
      return Demangle(info.dli_sname);
    }
  }
  CodeLocation at;
  try {
    at = Locate(code);
  } catch (const std::exception&) {
    return "";
  }
  MappedFile file(at.object_path.empty() ? "/proc/self/exe" : at.object_path);
  const char* name = SymtabLookup(file, at.offset);
  return name != nullptr ? Demangle(name) : "";
}

}  // namespace mp::internal

// Names for code addresses, for the tracebacks of pool workers: C++ keeps no
// call stack in an exception, so a worker's traceback names the task
// function, and that name has to be found from its address.
#ifndef MP_PROCESS_SYMBOLIZE_H_
#define MP_PROCESS_SYMBOLIZE_H_

#include <string>

namespace mp::internal {

// The demangled name of the function containing `code`: from the dynamic
// symbol table (dladdr), else from the loaded object's own symbol table
// (.symtab, read from its file - a program's functions are only there
// unless it was linked with -rdynamic). "" when neither names it (a
// stripped binary).
std::string FunctionName(const void* code);

// A C++ symbol or type name as written in source; `name` itself when it is
// not a mangled one.
std::string Demangle(const char* name);

}  // namespace mp::internal

#endif  // MP_PROCESS_SYMBOLIZE_H_

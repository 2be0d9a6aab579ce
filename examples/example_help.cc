// `--help` for the seed examples, without a line of their code: each
// example stays the C++ twin of its Python program, which takes no
// arguments either. examples/CMakeLists.txt generates kExampleHelp for each
// example from the comment at the top of its source.
//
// glibc calls the functions in an executable's .init_array with main's
// argc, argv and envp, before main() - and so before mp::init, which
// spawned children and a custom-type server role also run through. Those
// never get "--help" as their only argument: a parent started that way has
// exited here before it could start them.
#include <cstdio>
#include <cstdlib>
#include <cstring>

extern const char kExampleHelp[];

namespace {

void PrintHelpAndExitIfAsked(int argc, char** argv, char** /*envp*/) {
  if (argc != 2 || (std::strcmp(argv[1], "--help") != 0 &&
                    std::strcmp(argv[1], "-h") != 0)) {
    return;
  }
  std::fputs(kExampleHelp, stdout);
  std::exit(0);
}

[[gnu::used, gnu::section(".init_array")]] void (*const kHelpHook)(
    int, char**, char**) = &PrintHelpAndExitIfAsked;

}  // namespace

#!/usr/bin/env bash
# The checks CI runs after the README's test command (docs/architecture.md,
# "Checks"), each in its own build directory:
#   asan  clang-14 with -Wthread-safety -Werror (the lock annotations are
#         checked) and ASan+UBSan: the whole ctest suite      (build-asan)
#   tsan  ThreadSanitizer: the concurrency suites              (build-tsan)
#   fuzz  the libFuzzer harnesses in fuzz/, MP_FUZZ_SECONDS each (default
#         60) from their seed corpora; any crash, leak or timeout fails
#                                                              (build-fuzz)
#   package  cpack -G DEB from the test build (reconfigured for prefix /usr),
#         the .deb unpacked with dpkg -x and tests/install's consumer built
#         against it with find_package(mp) and with pkg-config, and run
#                                                              ($BUILD)
# The sanitizer and fuzz builds link mp statically (-DBUILD_SHARED_LIBS=OFF),
# as before shared libraries became the default: the fuzz harnesses and the
# TSan --wrap shims (tests/tsan) then see one binary; the test build and the
# package cover the shared libraries.
# Usage: scripts/ci_checks.sh [asan] [tsan] [fuzz] [package]
#        (no argument: all four)
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
install_missing_packages

JOBS="$(nproc)"
CXX_CLANG="${MP_CLANG:-clang++-14}"
FUZZ_SECONDS="${MP_FUZZ_SECONDS:-60}"
# The concurrency suites: threads and processes on shared objects, the
# server's sessions, queues and sync types, the pool that runs custom
# methods.
TSAN_TESTS=(sync_test queue_fault_test server_test service_test
            containers_test manager_test custom_executor_test
            custom_types_test)

launcher=()
command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)

configure() {  # build-dir, then cache settings
  local dir="$ROOT/$1"
  shift
  cmake -S "$ROOT" -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCMAKE_CXX_COMPILER="$CXX_CLANG" "${launcher[@]}" \
    -DMP_BUILD_BENCH=OFF -DBUILD_SHARED_LIBS=OFF "$@"
}

# Sanitizer reports fail the run; children inherit these.
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
export ASAN_OPTIONS="detect_leaks=1:strict_init_order=1"
export TSAN_OPTIONS="halt_on_error=1:second_deadlock_stack=1:suppressions=$ROOT/tests/tsan/suppressions.txt"

run_asan() {
  echo "== asan: clang -Wthread-safety -Werror, ASan+UBSan, whole ctest suite"
  configure build-asan -DMP_THREAD_SAFETY_ANALYSIS=ON \
    -DMP_SANITIZE=address,undefined
  cmake --build "$ROOT/build-asan" --parallel "$JOBS"
  # Known issue, left out here only (the g++ suite runs them): a Pool
  # started with "fork" under ASan sometimes hangs (issue 15).
  # Diagnosis: the fork()ed worker deadlocks in ASan's own allocator, not
  # in glibc's and not in our locks. 8 hangs in 410 single-test runs of
  # the worker_lifetime*, imap_handle_iterable_exception and starmap_async
  # "fork" cases (3 in 100 at ac049f2); gdb on the 7 caught alive, the
  # same stack every time: the stuck worker's only thread in operator new
  # -> SizeClassAllocator64::GetFromAllocator -> Semaphore::Wait (the first
  # block of the protobuf Arena for its first PoolRequest, PoolWorkerMain;
  # presumably the first size class the forking slot thread's cache had to
  # refill), i.e. that size class's region mutex was held by another
  # parent thread (slot threads and the test thread allocate
  # concurrently) at the instant of fork(), and that
  # thread does not exist in the child. The pool then waits for the
  # worker's reply forever. LLVM 14's ASan runtime does not take its
  # allocator locks around fork (newer compiler-rt does, in its fork
  # interceptor); its lock functions (__lsan::LockAllocator) are hidden
  # symbols and no public __asan_/__sanitizer_ call holds them across a
  # call, so the program cannot do it itself. The worker starts no threads
  # and leaves through _exit() (Process::Impl::StartFork), so glibc's
  # thread-exit __malloc_arena_thread_freeres cannot run in it; that
  # assertion came with malloc_trim() before fork (now skipped under ASan,
  # process/process.cc) and did not show in these 410 runs. Ways out: a
  # newer clang for this job, or, under ASan only, forking a Pool's
  # workers from a single-threaded helper forked when the Pool starts (a
  # per-Pool fork server), so that no other thread exists at the fork.
  #
  # Also left out here: the FdLimit tests (tests/server/fd_limit_test.cc),
  # which run a process out of file descriptors on purpose. UBSan's vptr
  # check cannot work then: on a type-cache miss it asks whether the vtable
  # is readable with IsAccessibleMemoryRange, which needs a pipe(2), fails
  # with EMFILE, and reports "invalid vptr ... memory cannot be printed" on
  # a sound object (seen on std::thread's state in the test and on a
  # shared_ptr control block in mp-manager). The g++ suite runs them, and
  # PoolNotLeakOnFailureCPython, which runs a Pool out of descriptors
  # (same report, on a shared_ptr control block, in a clean-clone run).
  # Also MiscCPythonTest's Pools under fork, as the fork Pools above.
  #
  # And EmbeddedTest.CallsOfAnEndedSessionAreDropped: it fork()s a client
  # from a process whose embedded server's threads allocate all the time:
  # presumably the same ASan-allocator deadlock as the fork Pools above (its
  # child never made its calls in one of two clean-clone runs here). So
  # QueueFaultTest.ProducersConsumersAndKilledConsumers/grpc, which forks
  # 16 clients from a process with a live gRPC channel (timed out here once
  # since its /grpc run really uses gRPC).
  (cd "$ROOT/build-asan" &&
   ctest --output-on-failure --timeout 300 -j "$JOBS" \
     -E 'Pool(CPython)?Test\..*/"fork"|MiscCPythonTest\.test_pool_.*/fork([^s]|$)|Carry\.Pool.*"fork"|FdLimit\.|PoolNotLeakOnFailureCPython\.|EmbeddedTest\.CallsOfAnEndedSessionAreDropped|QueueFaultTest\.ProducersConsumersAndKilledConsumers/grpc')
}

run_tsan() {
  echo "== tsan: ${TSAN_TESTS[*]}"
  configure build-tsan -DMP_SANITIZE=thread -DMP_BUILD_EXAMPLES=OFF
  cmake --build "$ROOT/build-tsan" --parallel "$JOBS" \
    --target mp-manager "${TSAN_TESTS[@]}"
  # The binaries directly (ctest would list the suites not built here),
  # two at a time; each on both transports where ctest runs it on both.
  local dir="$ROOT/build-tsan"
  export MP_MANAGER_PATH="$dir/server/mp-manager"
  local runs=()
  for t in "${TSAN_TESTS[@]}"; do
    runs+=("$t:local")
    [[ $t == service_test || $t == custom_executor_test ]] || runs+=("$t:grpc")
  done
  printf '%s\n' "${runs[@]}" | xargs -P "$JOBS" -I{} bash -c '
    t=${1%%:*}; transport=${1##*:}; log="$2/tests/$t.$transport.log"
    if [[ $transport == grpc ]]; then export MP_TRANSPORT=grpc; fi
    # The embedded-server cases: custom calls on the pool beside the sessions.
    # The rest fork children from a threaded process, which TSan does not
    # support.
    if [[ $t == custom_types_test ]]; then
      export GTEST_FILTER="EmbeddedTest.*:-EmbeddedTest.CallsOfAnEndedSessionAreDropped"
    fi
    if "$2/tests/$t" >"$log" 2>&1; then
      echo "tsan $t ($transport): passed"
    else
      echo "tsan $t ($transport): FAILED"; tail -n 80 "$log"; exit 1
    fi' _ {} "$dir"
}

run_fuzz() {
  echo "== fuzz: ${FUZZ_SECONDS}s per harness"
  configure build-fuzz -DMP_BUILD_FUZZERS=ON -DMP_SANITIZE=address,undefined \
    -DMP_BUILD_TESTS=OFF -DMP_BUILD_EXAMPLES=OFF
  local harnesses=(wire_codec local_frame session)
  cmake --build "$ROOT/build-fuzz" --parallel "$JOBS" \
    --target "${harnesses[@]/#/fuzz_}"
  for h in "${harnesses[@]}"; do
    # New inputs go to a scratch corpus; the committed seeds stay as they
    # are. A crash, leak, timeout (-timeout s per input) or a run past
    # -rss_limit_mb fails, leaving the input in build-fuzz/artifacts/.
    local work="$ROOT/build-fuzz/corpus/$h"
    mkdir -p "$work" "$ROOT/build-fuzz/artifacts"
    "$ROOT/build-fuzz/fuzz/fuzz_$h" -max_total_time="$FUZZ_SECONDS" \
      -timeout=10 -rss_limit_mb=2048 -max_len=65536 -print_final_stats=1 \
      -artifact_prefix="$ROOT/build-fuzz/artifacts/$h-" \
      "$work" "$ROOT/fuzz/corpus/$h" 2>&1 | tail -n 40
    local rc=${PIPESTATUS[0]}
    if ((rc != 0)); then
      echo "fuzz_$h: FAILED (exit $rc)"
      return 1
    fi
  done
}

run_package() {
  echo "== package: cpack -G DEB, dpkg -x, the consumer against it"
  # A .deb installs under /usr (cmake/mpPackage.cmake). In a build that
  # scripts/test.sh made, this recompiles one file and relinks.
  configure_and_build -DCMAKE_INSTALL_PREFIX=/usr
  rm -f "$BUILD"/mp_*.deb
  (cd "$BUILD" && cpack -G DEB > "$BUILD/cpack.log") ||
    { cat "$BUILD/cpack.log"; return 1; }
  local debs=("$BUILD"/mp_*.deb)
  dpkg-deb -c "${debs[0]}" | awk '{print $6}' | grep -v '/$' |
    sed -E 's#/(mp|mp_client|v1)/.*#/\1/...#' | sort | uniq -c
  "$ROOT/tests/install/check_deb.sh" "${debs[0]}" "$BUILD/package-check"
}

checks=("$@")
((${#checks[@]})) || checks=(asan tsan fuzz package)
for c in "${checks[@]}"; do
  start=$SECONDS
  "run_$c"
  echo "== $c: $((SECONDS - start)) s"
done

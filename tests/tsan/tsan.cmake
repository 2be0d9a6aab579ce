# Included by the top-level CMakeLists.txt when MP_SANITIZE has "thread":
# every target gets absl_sync_tsan.cc (what it does and why: there) and
# links with our calls to these absl functions routed through it.
set(MP_TSAN_WRAPPED
  _ZN4absl7debian35Mutex4LockEv
  _ZN4absl7debian35Mutex10ReaderLockEv
  _ZN4absl7debian35Mutex7TryLockEv
  _ZN4absl7debian35Mutex13ReaderTryLockEv
  _ZN4absl7debian35Mutex6UnlockEv
  _ZN4absl7debian35Mutex12ReaderUnlockEv
  _ZN4absl7debian35Mutex8LockWhenERKNS0_9ConditionE
  _ZN4absl7debian35Mutex19LockWhenWithTimeoutERKNS0_9ConditionENS0_8DurationE
  _ZN4absl7debian35Mutex20LockWhenWithDeadlineERKNS0_9ConditionENS0_4TimeE
  _ZN4absl7debian35Mutex5AwaitERKNS0_9ConditionE
  _ZN4absl7debian35Mutex16AwaitWithTimeoutERKNS0_9ConditionENS0_8DurationE
  _ZN4absl7debian35Mutex17AwaitWithDeadlineERKNS0_9ConditionENS0_4TimeE
  _ZN4absl7debian37CondVar4WaitEPNS0_5MutexE
  _ZN4absl7debian37CondVar15WaitWithTimeoutEPNS0_5MutexENS0_8DurationE
  _ZN4absl7debian37CondVar16WaitWithDeadlineEPNS0_5MutexENS0_4TimeE
  _ZN4absl7debian312Notification6NotifyEv
  _ZNK4absl7debian312Notification19WaitForNotificationEv
  _ZNK4absl7debian312Notification30WaitForNotificationWithTimeoutENS0_8DurationE
)
add_library(mp_tsan_absl OBJECT ${CMAKE_CURRENT_LIST_DIR}/absl_sync_tsan.cc)
target_link_libraries(mp_tsan_absl PRIVATE absl::synchronization absl::time)
link_libraries($<BUILD_INTERFACE:mp_tsan_absl>)
foreach(sym IN LISTS MP_TSAN_WRAPPED)
  add_link_options(-Wl,--wrap=${sym})
endforeach()

# Usage: cmake -DBUILD_DIR=... -DTARGET=... -DMESSAGE=... -P this-file
# Builds TARGET, which must fail to compile with exactly one error, and
# that error must contain MESSAGE (the static_assert naming the rule).
execute_process(
  COMMAND ${CMAKE_COMMAND} --build ${BUILD_DIR} --target ${TARGET}
  RESULT_VARIABLE rc
  OUTPUT_VARIABLE out
  ERROR_VARIABLE out)
if(rc EQUAL 0)
  message(FATAL_ERROR "${TARGET} compiled; it must not")
endif()
string(REGEX MATCHALL ": error: " errors "${out}")
list(LENGTH errors count)
if(NOT count EQUAL 1)
  message(FATAL_ERROR
    "${TARGET}: expected exactly one compile error, got ${count}:\n${out}")
endif()
string(FIND "${out}" "${MESSAGE}" at)
if(at EQUAL -1)
  message(FATAL_ERROR
    "${TARGET}: the error does not say \"${MESSAGE}\":\n${out}")
endif()
message(STATUS "${TARGET}: one error, naming the rule")

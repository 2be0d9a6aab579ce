# Runs EXE and fails unless its stdout equals the contents of EXPECTED.
execute_process(COMMAND ${EXE} OUTPUT_VARIABLE out ERROR_VARIABLE err
                RESULT_VARIABLE rc TIMEOUT 50)
file(READ ${EXPECTED} expected)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "${EXE} exited with ${rc}\nstdout:\n${out}\nstderr:\n${err}")
endif()
if(NOT out STREQUAL expected)
  message(FATAL_ERROR "output differs.\nexpected:\n${expected}\ngot:\n${out}")
endif()

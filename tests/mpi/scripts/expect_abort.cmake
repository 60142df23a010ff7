# Runs COMMAND (a ;-list) and passes only if it exits non-zero within MAX_SECONDS and its
# output contains EXPECT. Used for "one rank throws: the whole job goes down".
# COMMAND arrives with '|' between arguments (a ';' would be split by add_test).
string(REPLACE "|" ";" COMMAND "${COMMAND}")
string(TIMESTAMP start "%s")
execute_process(COMMAND ${COMMAND} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err
                TIMEOUT 60)
string(TIMESTAMP stop "%s")
math(EXPR seconds "${stop} - ${start}")
message(STATUS "exit ${rc} after ${seconds} s\n${out}${err}")
if(rc EQUAL 0)
  message(FATAL_ERROR "expected a non-zero exit, got 0")
endif()
if(seconds GREATER MAX_SECONDS)
  message(FATAL_ERROR "took ${seconds} s, more than ${MAX_SECONDS} s")
endif()
string(FIND "${out}${err}" "${EXPECT}" position)
if(position EQUAL -1)
  message(FATAL_ERROR "output lacks '${EXPECT}'")
endif()

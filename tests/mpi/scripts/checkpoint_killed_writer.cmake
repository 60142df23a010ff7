# A writer killed midway (SIGKILL on the last of SAVE_RANKS ranks while step 8 is being
# written, after step 7 was published) leaves step 7 and `latest` intact: the job fails,
# only the temporary of step 8 is left, and LOAD_RANKS ranks load step 7 with every row and
# checksum right.
string(REPLACE "|" ";" FLAGS "${FLAGS}")
execute_process(COMMAND ${MPIEXEC} ${FLAGS} ${NP} ${SAVE_RANKS} ${EXE} killed ${DIR}
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err TIMEOUT 120)
message(STATUS "killed writer: exit ${rc}\n${out}${err}")
if(rc EQUAL 0 OR rc MATCHES "timeout")
  message(FATAL_ERROR "the job with a killed writer did not fail (exit '${rc}')")
endif()

if(NOT EXISTS ${DIR}/.ckpt_00000008.h5.tmp)
  message(FATAL_ERROR "no temporary of step 8: the writer was not killed midway")
endif()
if(EXISTS ${DIR}/ckpt_00000008.h5)
  message(FATAL_ERROR "step 8 was published although its writer died")
endif()
file(READ ${DIR}/latest pointer)
if(NOT pointer STREQUAL "ckpt_00000007.h5\n")
  message(FATAL_ERROR "latest holds '${pointer}' after the killed write")
endif()

execute_process(COMMAND ${MPIEXEC} ${FLAGS} ${NP} ${LOAD_RANKS} ${EXE} load ${DIR}
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err TIMEOUT 120)
message(STATUS "load: exit ${rc}\n${out}${err}")
if(NOT rc EQUAL 0 OR
   NOT out MATCHES "OK: saved with ${SAVE_RANKS} ranks, loaded with ${LOAD_RANKS} ranks")
  message(FATAL_ERROR "step 7 did not load after the killed write")
endif()

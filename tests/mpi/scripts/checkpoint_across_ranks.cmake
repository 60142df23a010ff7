# Saves a checkpoint with SAVE_RANKS ranks, loads it with LOAD_RANKS ranks (every row
# checked by the loader), then checks that h5ls lists the layout of docs/checkpoint-format.md.
string(REPLACE "|" ";" FLAGS "${FLAGS}")
function(run_checked)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err
                  TIMEOUT 120)
  message(STATUS "${ARGN}\n${out}${err}")
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "exit ${rc}")
  endif()
  set(output "${out}" PARENT_SCOPE)
endfunction()

run_checked(${MPIEXEC} ${FLAGS} ${NP} ${SAVE_RANKS} ${EXE} save ${DIR})
run_checked(${MPIEXEC} ${FLAGS} ${NP} ${LOAD_RANKS} ${EXE} load ${DIR})
if(NOT output MATCHES "OK: saved with ${SAVE_RANKS} ranks, loaded with ${LOAD_RANKS} ranks")
  message(FATAL_ERROR "the loader did not confirm")
endif()

run_checked(${H5LS} -r ${DIR}/ckpt_00000007.h5)
foreach(line "/model/sim_matrix +Dataset {10, 5}" "/optimizer/momentum/sim_matrix +Dataset {10, 5}"
        "/model/encoder.conv1.weight +Dataset {4, 3, 3, 3}" "/state/sampler_position")
  if(NOT output MATCHES "${line}")
    message(FATAL_ERROR "h5ls output lacks '${line}'")
  endif()
endforeach()
file(READ ${DIR}/latest pointer)
if(NOT pointer STREQUAL "ckpt_00000007.h5\n")
  message(FATAL_ERROR "latest holds '${pointer}'")
endif()

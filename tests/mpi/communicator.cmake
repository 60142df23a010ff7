# MpiCommunicator under a real mpiexec: collectives checked exactly, and a throwing rank
# taking the whole job down with its message.
add_executable(mpi_communicator_test ${CMAKE_CURRENT_LIST_DIR}/communicator_test.cpp)
target_link_libraries(mpi_communicator_test PRIVATE pic_mpi pic_warnings)
pic_use_torch_pch(mpi_communicator_test)

foreach(ranks 2 3)
  pic_add_mpi_test(mpi_communicator_${ranks} ${ranks} $<TARGET_FILE:mpi_communicator_test>)
  set_tests_properties(mpi_communicator_${ranks} PROPERTIES PASS_REGULAR_EXPRESSION
                       "OK: ${ranks} ranks")
  math(EXPR failing "${ranks} - 1")
  string(REPLACE ";" "|" flags "${PIC_MPIEXEC_FLAGS}")
  add_test(NAME mpi_abort_on_throw_${ranks}
           COMMAND ${CMAKE_COMMAND}
                   "-DCOMMAND=${MPIEXEC_EXECUTABLE}|${flags}|${MPIEXEC_NUMPROC_FLAG}|${ranks}|$<TARGET_FILE:mpi_communicator_test>|throw|${failing}"
                   "-DEXPECT=pic: rank ${failing}: error: deliberate failure on rank ${failing}"
                   -DMAX_SECONDS=20 -P ${CMAKE_CURRENT_LIST_DIR}/scripts/expect_abort.cmake)
  set_tests_properties(mpi_abort_on_throw_${ranks} PROPERTIES TIMEOUT 120 PROCESSORS ${ranks}
                       ENVIRONMENT "OMP_NUM_THREADS=1")
endforeach()

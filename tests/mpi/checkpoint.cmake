# Collective checkpoints under a real mpiexec: round trips on 2 and 3 ranks, a file written by
# 3 ranks read by 2 (and 2 by 3) with the same checksums, pointer fallback past incomplete
# files, damaged datasets, failed and killed writes, retention, h5ls on the result.
add_executable(mpi_checkpoint_test ${CMAKE_CURRENT_LIST_DIR}/checkpoint_test.cpp)
target_link_libraries(mpi_checkpoint_test PRIVATE pic_train ZLIB::ZLIB pic_warnings)
pic_use_torch_pch(mpi_checkpoint_test)

foreach(ranks 2 3)
  pic_add_mpi_test(mpi_checkpoint_${ranks} ${ranks} $<TARGET_FILE:mpi_checkpoint_test> all
                   ${CMAKE_CURRENT_BINARY_DIR}/checkpoint_all_${ranks})
  set_tests_properties(mpi_checkpoint_${ranks} PROPERTIES PASS_REGULAR_EXPRESSION
                       "OK: ${ranks} ranks")
endforeach()

# Save with SAVE ranks, load with LOAD ranks, then list the file with h5ls.
find_program(PIC_H5LS h5ls)
foreach(pair "3;2" "2;3")
  list(GET pair 0 save_ranks)
  list(GET pair 1 load_ranks)
  string(REPLACE ";" "|" flags "${PIC_MPIEXEC_FLAGS}")
  set(name mpi_checkpoint_save${save_ranks}_load${load_ranks})
  add_test(NAME ${name}
           COMMAND ${CMAKE_COMMAND} "-DMPIEXEC=${MPIEXEC_EXECUTABLE}" "-DFLAGS=${flags}"
                   -DNP=${MPIEXEC_NUMPROC_FLAG} -DEXE=$<TARGET_FILE:mpi_checkpoint_test>
                   -DSAVE_RANKS=${save_ranks} -DLOAD_RANKS=${load_ranks} -DH5LS=${PIC_H5LS}
                   -DDIR=${CMAKE_CURRENT_BINARY_DIR}/checkpoint_${save_ranks}_to_${load_ranks}
                   -P ${CMAKE_CURRENT_LIST_DIR}/scripts/checkpoint_across_ranks.cmake)
  set_tests_properties(${name} PROPERTIES TIMEOUT 300 PROCESSORS 3
                       ENVIRONMENT "OMP_NUM_THREADS=1")
endforeach()

# A writer killed midway on SAVE ranks; the previous checkpoint loads on LOAD ranks.
foreach(pair "3;2" "2;3")
  list(GET pair 0 save_ranks)
  list(GET pair 1 load_ranks)
  string(REPLACE ";" "|" flags "${PIC_MPIEXEC_FLAGS}")
  set(name mpi_checkpoint_killed${save_ranks}_load${load_ranks})
  add_test(NAME ${name}
           COMMAND ${CMAKE_COMMAND} "-DMPIEXEC=${MPIEXEC_EXECUTABLE}" "-DFLAGS=${flags}"
                   -DNP=${MPIEXEC_NUMPROC_FLAG} -DEXE=$<TARGET_FILE:mpi_checkpoint_test>
                   -DSAVE_RANKS=${save_ranks} -DLOAD_RANKS=${load_ranks}
                   -DDIR=${CMAKE_CURRENT_BINARY_DIR}/checkpoint_killed_${save_ranks}
                   -P ${CMAKE_CURRENT_LIST_DIR}/scripts/checkpoint_killed_writer.cmake)
  set_tests_properties(${name} PROPERTIES TIMEOUT 300 PROCESSORS 3
                       ENVIRONMENT "OMP_NUM_THREADS=1")
endforeach()

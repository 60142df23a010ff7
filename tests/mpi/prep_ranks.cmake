# pic-prep under a real mpiexec with 1, 2 and 3 ranks on the opencv-doc photographs plus broken
# files (tests/mpi/prep_ranks_test.cpp): the file of N ranks holds the same datasets and
# attributes as the one pic-prep writes alone, problems are named by the rank that met them,
# and --strict, Ctrl-C and a write error on one rank end every rank with nothing left
# behind. The driver starts mpiexec itself.
if(TARGET pic-prep)
  add_executable(prep_ranks_test ${CMAKE_CURRENT_LIST_DIR}/prep_ranks_test.cpp)
  target_link_libraries(prep_ranks_test PRIVATE pic_data pic_warnings)
  add_dependencies(prep_ranks_test pic-prep)

  set(prep_ranks_dir ${CMAKE_CURRENT_BINARY_DIR}/prep_ranks)
  set(prep_ranks_mpiexec ${MPIEXEC_EXECUTABLE} ${PIC_MPIEXEC_FLAGS} ${MPIEXEC_NUMPROC_FLAG})
  add_test(NAME prep_ranks_reference
           COMMAND prep_ranks_test reference ${prep_ranks_dir} $<TARGET_FILE:pic-prep>)
  set_tests_properties(prep_ranks_reference PROPERTIES FIXTURES_SETUP prep_ranks_reference
                       TIMEOUT 60 PASS_REGULAR_EXPRESSION "OK: reference")
  foreach(ranks 1 2 3)
    foreach(mode ranks strict)
      add_test(NAME prep_${mode}_${ranks}
               COMMAND prep_ranks_test ${mode} ${prep_ranks_dir} $<TARGET_FILE:pic-prep> ${ranks}
                       ${prep_ranks_mpiexec})
      set_tests_properties(prep_${mode}_${ranks} PROPERTIES
                           FIXTURES_REQUIRED prep_ranks_reference TIMEOUT 60 PROCESSORS ${ranks}
                           PASS_REGULAR_EXPRESSION "OK: ${mode} ${ranks} ranks"
                           ENVIRONMENT "OMP_NUM_THREADS=1")
    endforeach()
  endforeach()
  foreach(ranks 2 3)
    foreach(mode interrupt disk-full)
      add_test(NAME prep_${mode}_${ranks}
               COMMAND prep_ranks_test ${mode} ${prep_ranks_dir} $<TARGET_FILE:pic-prep> ${ranks}
                       ${prep_ranks_mpiexec})
      set_tests_properties(prep_${mode}_${ranks} PROPERTIES TIMEOUT 60 PROCESSORS ${ranks}
                           PASS_REGULAR_EXPRESSION "OK: ${mode} ${ranks} ranks"
                           ENVIRONMENT "OMP_NUM_THREADS=1")
    endforeach()
  endforeach()
endif()

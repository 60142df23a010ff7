# InstDisc, MoCo and SimCLR across ranks under a real mpiexec (1, 2 and 3 ranks): each
# against one process holding the whole batch (tests/mpi/baselines_test.cpp).
add_executable(mpi_baselines_test ${CMAKE_CURRENT_LIST_DIR}/baselines_test.cpp)
target_link_libraries(mpi_baselines_test PRIVATE pic_data pic_mpi pic_warnings)
pic_use_torch_pch(mpi_baselines_test)
target_compile_definitions(mpi_baselines_test PRIVATE PIC_TESTDATA_DIR="${PIC_TESTDATA_DIR}")

foreach(ranks 1 2 3)
  pic_add_mpi_test(mpi_baselines_${ranks} ${ranks} $<TARGET_FILE:mpi_baselines_test>)
  set_tests_properties(mpi_baselines_${ranks} PROPERTIES PASS_REGULAR_EXPRESSION
                       "OK: ${ranks} ranks")
endforeach()

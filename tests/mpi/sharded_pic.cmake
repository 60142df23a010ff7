# The sharded PIC head under a real mpiexec (1, 2 and 3 ranks): heads.h5 `pic` split over
# the ranks, and several SGD steps against a dense single-process run (full softmax,
# negative sampling with the freeze and the lazy correction).
add_executable(mpi_sharded_pic_test ${CMAKE_CURRENT_LIST_DIR}/sharded_pic_test.cpp)
target_link_libraries(mpi_sharded_pic_test PRIVATE pic_data pic_mpi pic_warnings)
pic_use_torch_pch(mpi_sharded_pic_test)
target_compile_definitions(mpi_sharded_pic_test PRIVATE PIC_TESTDATA_DIR="${PIC_TESTDATA_DIR}")

foreach(ranks 1 2 3)
  pic_add_mpi_test(mpi_sharded_pic_${ranks} ${ranks} $<TARGET_FILE:mpi_sharded_pic_test>)
  set_tests_properties(mpi_sharded_pic_${ranks} PROPERTIES PASS_REGULAR_EXPRESSION
                       "OK: ${ranks} ranks")
endforeach()

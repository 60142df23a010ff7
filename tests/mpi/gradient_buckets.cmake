# GradientBuckets under a real mpiexec (1, 2 and 3 ranks): gradients averaged in buckets
# started during backward against a plain backward pass and explicit sums.
add_executable(mpi_gradient_buckets_test ${CMAKE_CURRENT_LIST_DIR}/gradient_buckets_test.cpp)
target_link_libraries(mpi_gradient_buckets_test PRIVATE pic_mpi pic_warnings)
pic_use_torch_pch(mpi_gradient_buckets_test)

foreach(ranks 1 2 3)
  pic_add_mpi_test(mpi_gradient_buckets_${ranks} ${ranks}
                   $<TARGET_FILE:mpi_gradient_buckets_test>)
  set_tests_properties(mpi_gradient_buckets_${ranks} PROPERTIES PASS_REGULAR_EXPRESSION
                       "OK: ${ranks} ranks")
endforeach()

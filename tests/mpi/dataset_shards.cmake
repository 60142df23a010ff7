# read_dataset_shard under a real mpiexec (2 and 3 ranks) on the 10 000 Fashion-MNIST test
# images converted by pic-prep: every rank holds exactly its rows (3334/3333/3333 on 3 ranks),
# checked against a serial read of the whole file.
add_executable(mpi_dataset_shards_test ${CMAKE_CURRENT_LIST_DIR}/dataset_shards_test.cpp)
target_link_libraries(mpi_dataset_shards_test PRIVATE pic_data pic_warnings)

set(dataset_shards_file ${CMAKE_CURRENT_BINARY_DIR}/dataset_shards_t10k.h5)
add_test(NAME dataset_shards_prepare
         COMMAND pic-prep --input-format idx
                 --input /usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz
                 --labels /usr/share/datasets/fashion-mnist/t10k-labels-idx1-ubyte.gz
                 --output ${dataset_shards_file} --seed 5 --overwrite)
set_tests_properties(dataset_shards_prepare PROPERTIES FIXTURES_SETUP dataset_shards_file
                     TIMEOUT 300)
foreach(ranks 2 3)
  pic_add_mpi_test(mpi_dataset_shards_${ranks} ${ranks}
                   $<TARGET_FILE:mpi_dataset_shards_test> ${dataset_shards_file})
  set_tests_properties(mpi_dataset_shards_${ranks} PROPERTIES
                       FIXTURES_REQUIRED dataset_shards_file
                       PASS_REGULAR_EXPRESSION "OK: ${ranks} ranks")
endforeach()

# The pic-prep tests in test_data (tests/data/test_prep_*.cpp) run the real executable.
if(TARGET test_data)
  target_compile_definitions(test_data PRIVATE PIC_PREP_EXE="$<TARGET_FILE:pic-prep>")
  add_dependencies(test_data pic-prep)
endif()

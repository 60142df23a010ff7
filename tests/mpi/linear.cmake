# pic-linear under real mpiexec with 2 and 3 ranks, on real Fashion-MNIST images (600 train,
# 301 val: uneven shards on both rank counts) converted by the real pic-prep, and on real
# checkpoints written by save_checkpoint (a small random ResNet-18; one with a tensor missing,
# one with a tensor of the wrong shape).
add_executable(linear_fixture ${CMAKE_CURRENT_LIST_DIR}/linear_fixture.cpp)
target_link_libraries(linear_fixture PRIVATE pic_train ZLIB::ZLIB pic_warnings)
target_include_directories(linear_fixture PRIVATE ${PROJECT_SOURCE_DIR}/tests)
target_compile_definitions(linear_fixture PRIVATE PIC_PREP_EXE="$<TARGET_FILE:pic-prep>")
pic_use_torch_pch(linear_fixture)
add_dependencies(linear_fixture pic-prep pic-linear)

set(linear_dir ${CMAKE_CURRENT_BINARY_DIR}/linear_test)
set(linear_num_val 301)
# A singleton MPI process, not under mpiexec: pic-prep, itself an MPI program, cannot be started
# from inside an mpiexec job (it would inherit the job's environment and fail in MPI_Init).
add_test(NAME linear_fixture
         COMMAND linear_fixture ${linear_dir} 600 ${linear_num_val})
set_tests_properties(linear_fixture PROPERTIES FIXTURES_SETUP linear_inputs TIMEOUT 600
                     ENVIRONMENT "OMP_NUM_THREADS=1")

string(REPLACE ";" "|" linear_mpi "${MPIEXEC_EXECUTABLE};${PIC_MPIEXEC_FLAGS};${MPIEXEC_NUMPROC_FLAG}")
# pic_add_linear_test(NAME RANKS "CHECK ARGS" PIC-LINEAR ARGS...)
function(pic_add_linear_test name ranks checks)
  string(REPLACE ";" "|" args "${ARGN}")
  add_test(NAME ${name}
           COMMAND ${CMAKE_COMMAND}
                   "-DCOMMAND=${linear_mpi}|${ranks}|$<TARGET_FILE:pic-linear>|--data-dir|${linear_dir}|--num-workers|1|--print-freq|4|${args}"
                   ${checks} -P ${CMAKE_CURRENT_FUNCTION_LIST_DIR}/linear/run_and_check.cmake)
  set_tests_properties(${name} PROPERTIES TIMEOUT 600 PROCESSORS ${ranks}
                       FIXTURES_REQUIRED linear_inputs ENVIRONMENT "OMP_NUM_THREADS=1")
endfunction()

set(probe_args --epochs 30 --warmup-epoch 1 --learning-rate 1 --total-batch-size 48)
foreach(ranks 2 3)
  # Features protocol from a checkpoint folder (-> its latest checkpoint): every val image
  # counted once, and well above chance (10%) even with a random encoder.
  set(out ${linear_dir}/features_${ranks})
  pic_add_linear_test(linear_features_${ranks} ${ranks}
                      "-DRESULT=${out}/result.json;-DNUM_VAL=${linear_num_val};-DMIN_TOP1=30"
                      --pretrained-model ${linear_dir}/ckpt --protocol features ${probe_args}
                      --output-dir ${out})
  set_tests_properties(linear_features_${ranks} PROPERTIES FIXTURES_SETUP linear_features_${ranks})

  # The original protocol: augmented crops through the frozen backbone every epoch. On
  # 28 px images its train crops and the val transform (short side to 28 + 32, centre 28)
  # see the clothes at different scales, so accuracy stays low here; the test checks that
  # the layer learns (train loss well below ln 10 = 2.30) and that every val image counts.
  set(out ${linear_dir}/original_${ranks})
  pic_add_linear_test(linear_original_${ranks} ${ranks}
                      "-DRESULT=${out}/result.json;-DNUM_VAL=${linear_num_val};-DMIN_TOP1=12;-DMAX_TRAIN_LOSS=2.1"
                      --pretrained-model ${linear_dir}/ckpt/ckpt_00000001.h5 --protocol original
                      --epochs 6 --warmup-epoch 1 --learning-rate 1 --total-batch-size 48
                      --crop 0.5 --output-dir ${out})

  # The random-init baseline, built from the architecture flags.
  set(out ${linear_dir}/random_${ranks})
  pic_add_linear_test(linear_random_init_${ranks} ${ranks}
                      "-DRESULT=${out}/result.json;-DNUM_VAL=${linear_num_val}"
                      --random-init --arch resnet18 --width 0.125 --small-stem --image-size 28
                      ${probe_args} --output-dir ${out})

  # Loading is all or nothing: the names of missing and mis-shaped tensors are listed.
  pic_add_linear_test(linear_missing_tensor_${ranks} ${ranks}
                      "-DEXPECT_FAIL=1;-DEXPECT=missing: encoder.layer2.0.conv1.weight"
                      --pretrained-model ${linear_dir}/ckpt_missing ${probe_args}
                      --output-dir ${linear_dir}/missing_${ranks})
  pic_add_linear_test(linear_misshaped_tensor_${ranks} ${ranks}
                      "-DEXPECT_FAIL=1;-DEXPECT=mis-shaped: encoder.fc.weight (checkpoint [17, 64], model [16, 64])"
                      --pretrained-model ${linear_dir}/ckpt_misshaped ${probe_args}
                      --output-dir ${linear_dir}/misshaped_${ranks})
endforeach()

# The features protocol takes bit-identical steps on any rank count: 2 and 3 ranks give the
# same top-1 / top-5 counts. -e/--eval on 3 ranks of the layer saved by the 2-rank run, too.
pic_add_linear_test(linear_eval_only_3 3
                    "-DRESULT=${linear_dir}/eval_3/result.json;-DSAME_AS=${linear_dir}/features_2/result.json;-DNUM_VAL=${linear_num_val}"
                    --pretrained-model ${linear_dir}/ckpt -e
                    --linear-weights ${linear_dir}/features_2/linear_fc.pt
                    --output-dir ${linear_dir}/eval_3)
set_tests_properties(linear_eval_only_3 PROPERTIES
                     FIXTURES_REQUIRED "linear_inputs;linear_features_2;linear_features_3")
add_test(NAME linear_features_2_vs_3
         COMMAND ${CMAKE_COMMAND} -DCOMMAND=true
                 -DRESULT=${linear_dir}/features_3/result.json
                 -DSAME_AS=${linear_dir}/features_2/result.json
                 -P ${CMAKE_CURRENT_LIST_DIR}/linear/run_and_check.cmake)
set_tests_properties(linear_features_2_vs_3 PROPERTIES
                     FIXTURES_REQUIRED "linear_features_2;linear_features_3")

# A checkpoint written by the real pic-pretrain (2 ranks, 4 steps on the same 600 images):
# pic-linear reads its stored configuration (arch, width, stem, image size 32) and encoder.
if(TARGET pic-pretrain)
  pic_add_mpi_test(linear_pretrain_checkpoint 2 $<TARGET_FILE:pic-pretrain>
                   --data-dir ${linear_dir} --output-dir ${linear_dir}/pretrain
                   --arch resnet18 --small-stem --width 0.125 --feature-dim 32 --image-size 32
                   --batch-size 16 --num-workers 1 --aug SimCLR --contrast-temperature 0.2
                   --base-lr 0.5 --warmup-epoch 0 --epochs 2 --max-steps 4 --print-freq 2)
  set_tests_properties(linear_pretrain_checkpoint PROPERTIES
                       FIXTURES_REQUIRED linear_inputs FIXTURES_SETUP linear_pretrained)
  foreach(ranks 2 3)
    set(out ${linear_dir}/pretrained_${ranks})
    pic_add_linear_test(linear_pretrained_${ranks} ${ranks}
                        "-DRESULT=${out}/result.json;-DNUM_VAL=${linear_num_val};-DMIN_TOP1=30;-DEXPECT=image size 32"
                        --pretrained-model ${linear_dir}/pretrain ${probe_args}
                        --output-dir ${out})
    set_tests_properties(linear_pretrained_${ranks} PROPERTIES
                         FIXTURES_REQUIRED "linear_inputs;linear_pretrained"
                         FIXTURES_SETUP linear_pretrained_${ranks})
  endforeach()
endif()
if(TARGET pic-pretrain)
  add_test(NAME linear_pretrained_2_vs_3
           COMMAND ${CMAKE_COMMAND} -DCOMMAND=true
                   -DRESULT=${linear_dir}/pretrained_3/result.json
                   -DSAME_AS=${linear_dir}/pretrained_2/result.json
                   -P ${CMAKE_CURRENT_LIST_DIR}/linear/run_and_check.cmake)
  set_tests_properties(linear_pretrained_2_vs_3 PROPERTIES
                       FIXTURES_REQUIRED "linear_pretrained_2;linear_pretrained_3")
endif()

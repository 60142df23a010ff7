# pic-pretrain end to end under mpiexec, on 300 real Fashion-MNIST images converted by
# pic-prep: a short run (finite, decreasing losses, a checkpoint), exact resume, and
# SIGUSR1 (checkpoint and exit), negative sampling (exact resume with freeze and lazy), the
# baselines (InstDisc, MoCo, SimCLR: exact resume), NaN steps skipped and recovered from,
# a checkpoint of 2 ranks resumed on 3 (and 3 on 2) on the new count's plan, damaged and
# truncated checkpoints skipped by --auto-resume, --keep-last. Driver: tests/mpi/pretrain_test.sh.
if(TARGET pic-pretrain AND TARGET pic-prep)
  set(pretrain_work ${CMAKE_CURRENT_BINARY_DIR}/pretrain_test)
  set(pretrain_driver ${CMAKE_CURRENT_LIST_DIR}/pretrain_test.sh)
  set(pretrain_mpiexec ${MPIEXEC_EXECUTABLE} ${PIC_MPIEXEC_FLAGS})

  add_test(NAME pretrain_data
           COMMAND ${pretrain_driver} data ${pretrain_work} $<TARGET_FILE:pic-prep>)
  set_tests_properties(pretrain_data PROPERTIES FIXTURES_SETUP pretrain_data TIMEOUT 120)

  foreach(ranks 2 3)
    foreach(mode train resume sampled baselines reshard damaged signal nonfinite)
      add_test(NAME pretrain_${mode}_${ranks}
               COMMAND ${pretrain_driver} ${mode} ${pretrain_work} $<TARGET_FILE:pic-pretrain>
                       ${ranks} ${pretrain_mpiexec})
      set_tests_properties(pretrain_${mode}_${ranks} PROPERTIES
                           FIXTURES_REQUIRED pretrain_data TIMEOUT 600 PROCESSORS ${ranks}
                           PASS_REGULAR_EXPRESSION "OK: ${mode}"
                           ENVIRONMENT "OMP_NUM_THREADS=1")
    endforeach()
  endforeach()
  # A rank killed mid-step and mid-checkpoint: one of 3, as the issue asks.
  add_test(NAME pretrain_kill_3
           COMMAND ${pretrain_driver} kill ${pretrain_work} $<TARGET_FILE:pic-pretrain> 3
                   ${pretrain_mpiexec})
  set_tests_properties(pretrain_kill_3 PROPERTIES
                       FIXTURES_REQUIRED pretrain_data TIMEOUT 600 PROCESSORS 3
                       PASS_REGULAR_EXPRESSION "OK: kill" ENVIRONMENT "OMP_NUM_THREADS=1")
endif()

# The sbatch scripts and slurm/submit.sh against a real one-node Slurm that the test starts
# itself (munged, slurmctld, slurmd from Debian's munge and slurm-wlm, loopback only):
# prep -> pretrain -> linear on Fashion-MNIST, the warning signal mid-run, requeue, resume,
# and the same losses as an uninterrupted run. Driver: tests/slurm/pipeline_test.sh.
# Skipped (exit 77) without root or without the Slurm packages (scripts/install-deps.sh).
if(TARGET pic-prep AND TARGET pic-pretrain AND TARGET pic-linear)
  add_test(NAME slurm_pipeline
           COMMAND ${CMAKE_CURRENT_LIST_DIR}/pipeline_test.sh
                   ${CMAKE_CURRENT_BINARY_DIR}/slurm_pipeline ${PROJECT_SOURCE_DIR}
                   ${PROJECT_BINARY_DIR})
  # The cluster's node offers every core of the machine to the jobs: run alone.
  set_tests_properties(slurm_pipeline PROPERTIES
                       TIMEOUT 600 RUN_SERIAL TRUE SKIP_RETURN_CODE 77
                       PASS_REGULAR_EXPRESSION "OK: slurm pipeline"
                       ENVIRONMENT "OMP_NUM_THREADS=1;OMPI_ALLOW_RUN_AS_ROOT=1;OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1")
endif()

# pic-dump-augmentations on the pre-training test data (pretrain.cmake's fixture): every preset
# writes a PNG grid of the expected size (6 rows, original + 7 views, 96 px cells, 4 px gaps).
# bench/ is added after tests/, so its target cannot be tested for here: PIC_BUILD_BENCH says.
if(PIC_BUILD_BENCH AND TARGET pic-prep)
  foreach(preset NULL InstDisc MoCov2 SimCLR MultiCrop val)
    add_test(NAME dump_augmentations_${preset}
             COMMAND pic-dump-augmentations
                     --train-file ${CMAKE_CURRENT_BINARY_DIR}/pretrain_test/data/train.h5
                     --aug ${preset} --image-size 32 --image-size2 16 --crop 0.08 --images 6
                     --views 7 --output ${CMAKE_CURRENT_BINARY_DIR}/augmentations_${preset}.png)
    set_tests_properties(dump_augmentations_${preset} PROPERTIES
                         FIXTURES_REQUIRED pretrain_data TIMEOUT 60
                         PASS_REGULAR_EXPRESSION "wrote .*augmentations_${preset}.png: 796 x 596 pixels")
  endforeach()
endif()

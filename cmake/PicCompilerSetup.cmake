# Compiler launcher and warnings shared by every target.
find_program(PIC_CCACHE ccache)
if(PIC_CCACHE AND NOT CMAKE_CXX_COMPILER_LAUNCHER)
  # CCACHE_BASEDIR (set by scripts/build.sh) lets a fresh clone in another folder hit the cache.
  set(CMAKE_CXX_COMPILER_LAUNCHER ${PIC_CCACHE})
  set(CMAKE_C_COMPILER_LAUNCHER ${PIC_CCACHE})
endif()

add_library(pic_warnings INTERFACE)
target_compile_options(pic_warnings INTERFACE -Wall -Wextra -Wno-unused-parameter)

# One precompiled <torch/torch.h> for every target that includes LibTorch: a torch
# translation unit costs ~30 s on two cores without it.
function(pic_use_torch_pch target)
  target_precompile_headers(${target} PRIVATE <torch/torch.h>)
endfunction()

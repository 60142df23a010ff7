# Finds LibTorch wherever its TorchConfig.cmake lives:
#   - Debian's libtorch-dev: /usr/lib/<arch>/cmake/Torch, on CMake's default search path;
#   - -DTorch_DIR=<dir>, or a CMAKE_PREFIX_PATH entry such as torch.utils.cmake_prefix_path;
#   - inside a Python package (Spack's py-torch, pip, conda):
#     <prefix>/lib/pythonX.Y/site-packages/torch/share/cmake/Torch. CMake's search does not
#     look into site-packages, so a Spack view on CMAKE_PREFIX_PATH (what `spack env activate`
#     sets) would be passed over, and an older Debian LibTorch in /usr picked instead.
# Order: Torch_DIR, then site-packages under each CMAKE_PREFIX_PATH entry (ahead of /usr), then
# the default search, and last the Python interpreter's own torch (pip, conda, a virtualenv).

# Sets `out` to the torch/share/cmake folders inside lib*/python3*/site-packages of every
# CMAKE_PREFIX_PATH entry (the CMake variable and the environment variable).
function(pic_torch_dirs_in_prefixes out)
  file(TO_CMAKE_PATH "$ENV{CMAKE_PREFIX_PATH}" env_prefixes)
  set(found)
  foreach(prefix IN LISTS CMAKE_PREFIX_PATH env_prefixes)
    file(GLOB dirs LIST_DIRECTORIES true
         "${prefix}/lib/python3*/site-packages/torch/share/cmake"
         "${prefix}/lib64/python3*/site-packages/torch/share/cmake")
    list(APPEND found ${dirs})
  endforeach()
  set(${out} ${found} PARENT_SCOPE)
endfunction()

# Sets `out` to the torch/share/cmake folder of the torch that the Python interpreter imports
# (-DPython3_EXECUTABLE=... chooses the interpreter), or to nothing.
function(pic_torch_dir_from_python out)
  set(${out} "" PARENT_SCOPE)
  find_package(Python3 COMPONENTS Interpreter QUIET)
  if(NOT Python3_Interpreter_FOUND)
    return()
  endif()
  execute_process(
    COMMAND ${Python3_EXECUTABLE} -c "import torch.utils; print(torch.utils.cmake_prefix_path)"
    OUTPUT_VARIABLE dir OUTPUT_STRIP_TRAILING_WHITESPACE RESULT_VARIABLE status ERROR_QUIET)
  # Debian's python3-torch names a folder that does not exist: accept only a real config.
  if(status EQUAL 0 AND EXISTS "${dir}/Torch/TorchConfig.cmake")
    set(${out} "${dir}" PARENT_SCOPE)
  endif()
endfunction()

pic_torch_dirs_in_prefixes(pic_torch_hints)
find_package(Torch QUIET HINTS ${pic_torch_hints})
if(NOT Torch_FOUND)
  pic_torch_dir_from_python(pic_torch_python_hint)
  if(pic_torch_python_hint)
    find_package(Torch QUIET HINTS ${pic_torch_python_hint})
  endif()
endif()
if(NOT Torch_FOUND)
  message(FATAL_ERROR
    "LibTorch (TorchConfig.cmake) not found. Install libtorch-dev (Debian), activate a Spack "
    "environment with py-torch (docs/spack.md), or pass -DTorch_DIR=<folder holding "
    "TorchConfig.cmake>, e.g. "
    "$(python3 -c 'import torch; print(torch.utils.cmake_prefix_path)')/Torch")
endif()

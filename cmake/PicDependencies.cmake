# Finds LibTorch (Debian's 1.13 or a pip/Spack 2.x), and unless PIC_CORE_ONLY, MPI, parallel
# HDF5, the OpenCV modules we use, libzip, CLI11 and Catch2.

# LibTorch from Debian, -DTorch_DIR, a Spack view or pip (site-packages/torch/share/cmake).
include(PicFindTorch)
message(STATUS "LibTorch ${Torch_VERSION} from ${Torch_DIR}")
# TorchConfig adds flags (e.g. -D_GLIBCXX_USE_CXX11_ABI) through TORCH_CXX_FLAGS.
set(CMAKE_CXX_FLAGS "${CMAKE_CXX_FLAGS} ${TORCH_CXX_FLAGS}")

find_package(Threads REQUIRED)

if(PIC_BUILD_TESTS)
  find_package(Catch2 REQUIRED)
  include(Catch)
endif()

if(PIC_CORE_ONLY)
  return()
endif()

find_package(MPI REQUIRED COMPONENTS C)

# Parallel HDF5. Debian's libhdf5-openmpi-dev installs next to the serial one; point the
# finder at the MPI flavour and refuse a serial library: collective checkpoints need MPI-IO.
# Not inside an active Spack environment: its hdf5+mpi (found on CMAKE_PREFIX_PATH) must not
# be mixed with Debian's, which is linked to Debian's OpenMPI.
if(NOT DEFINED HDF5_PREFER_PARALLEL)
  set(HDF5_PREFER_PARALLEL TRUE)
endif()
if(EXISTS /usr/lib/x86_64-linux-gnu/hdf5/openmpi AND NOT HDF5_ROOT AND NOT DEFINED ENV{HDF5_ROOT}
   AND NOT DEFINED ENV{SPACK_ENV})
  set(HDF5_C_COMPILER_EXECUTABLE /usr/bin/h5pcc CACHE FILEPATH "")
endif()
find_package(HDF5 REQUIRED COMPONENTS C)
if(NOT HDF5_IS_PARALLEL)
  message(FATAL_ERROR "pic needs a parallel (MPI) HDF5; found a serial one at ${HDF5_INCLUDE_DIRS}. "
                      "On Debian install libhdf5-openmpi-dev; elsewhere build hdf5+mpi.")
endif()
message(STATUS "parallel HDF5 ${HDF5_VERSION}: ${HDF5_C_LIBRARIES}")

# Only the OpenCV modules we use: ${OpenCV_LIBS} on Debian drags in the contrib hdf module,
# which links the serial HDF5 next to the parallel one.
find_package(OpenCV REQUIRED COMPONENTS core imgproc imgcodecs)
set(PIC_OPENCV_LIBS opencv_core opencv_imgproc opencv_imgcodecs)

# libjpeg(-turbo) itself, for decoding only the crops' region at a reduced DCT scale
# (src/data/jpeg_region.*): jpeg_crop_scanline and jpeg_skip_scanlines need libjpeg-turbo
# 1.5 or later (Debian: libjpeg62-turbo-dev; Spack: libjpeg-turbo).
find_package(JPEG REQUIRED)

# Debian's libzip CMake config references tools from another package (zipcmp...), so
# find the library through pkg-config instead.
find_package(PkgConfig REQUIRED)
pkg_check_modules(LIBZIP REQUIRED IMPORTED_TARGET libzip)
find_package(ZLIB REQUIRED)
find_package(CLI11 QUIET CONFIG)
if(NOT CLI11_FOUND)
  find_path(CLI11_INCLUDE_DIR CLI/CLI.hpp REQUIRED)
  add_library(CLI11::CLI11 INTERFACE IMPORTED)
  target_include_directories(CLI11::CLI11 INTERFACE ${CLI11_INCLUDE_DIR})
endif()

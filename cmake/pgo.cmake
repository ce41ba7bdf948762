# pgo.cmake - the verifier layer built from a profile of its own walks
# (GCC's profile-guided optimisation), for optimised GCC builds.
#
# The walk of a loop to the 1M-instruction limit spends its time in
# branches whose direction depends on the program walked (which kept
# state fails where, which register a jump narrows); a profile of real
# walks lets the compiler lay out and inline for the common directions:
# 4-12% faster on the loop suite's slowest programs (BENCHMARKS.md,
# "Profile").  The steps, each a build rule:
#   1. bpfvm_verifier_profiling: the verifier layer's sources compiled as
#      the real layer is, plus -fprofile-generate;
#   2. bpfvm-pgo-train: bench/verify_speed.c linked with those objects and
#      every other layer's (the real ones), run once over the loop suite
#      (tests/loops): each program verified twice, its counts written
#      beside the profiling object;
#   3. the counts copied to where the real layer's compile looks for them
#      (beside its own object), which then builds with -fprofile-use.
# The two objects differ in name, which GCC mixes into a static
# function's profile id: both are built with
# --param=profile-func-internal-id=1 (BPFVM_VERIFIER_FLAGS, layers.cmake)
# so that counts are found by the function's own id.
# A training that fails or writes nothing leaves the layer built without
# a profile (-Wno-missing-profile), never a broken build.  Off for Debug,
# for the sanitizer build, for other compilers, and with -DBPFVM_PGO=OFF.
option(BPFVM_PGO "Build the verifier layer with GCC's profile-guided optimisation, trained on the loop suite" ON)

if(NOT BPFVM_PGO OR BPFVM_SANITIZE OR NOT CMAKE_C_COMPILER_ID STREQUAL "GNU" OR NOT CMAKE_BUILD_TYPE
   OR CMAKE_BUILD_TYPE STREQUAL "Debug" OR NOT TARGET loop_objects)
  return()
endif()

# The layer's own unit file (made by CMake for its unity build), so that
# both copies compile the same text.
set(pgo_unit ${PROJECT_BINARY_DIR}/CMakeFiles/bpfvm_layer_verifier.dir/Unity/unity_0_c.c)
add_library(bpfvm_verifier_profiling OBJECT ${pgo_unit})
set_target_properties(bpfvm_verifier_profiling PROPERTIES C_VISIBILITY_PRESET hidden)
target_compile_options(bpfvm_verifier_profiling PRIVATE -O3 ${BPFVM_VERIFIER_FLAGS}
                       -fprofile-generate -fprofile-update=single)
target_include_directories(bpfvm_verifier_profiling PRIVATE ${BPFVM_LAYER_ROOT_verifier} ${PROJECT_SOURCE_DIR}/include)
target_link_libraries(bpfvm_verifier_profiling PRIVATE PkgConfig::LIBELF PkgConfig::LIBBPF PkgConfig::ZLIB
                      PkgConfig::CAPSTONE PkgConfig::LIBXDP)

set(pgo_objects)
foreach(layer ${BPFVM_LAYERS})
  if(layer STREQUAL "verifier")
    list(APPEND pgo_objects $<TARGET_OBJECTS:bpfvm_verifier_profiling>)
  else()
    list(APPEND pgo_objects $<TARGET_OBJECTS:bpfvm_layer_${layer}>)
  endif()
endforeach()
add_executable(bpfvm-pgo-train ${PROJECT_SOURCE_DIR}/bench/verify_speed.c ${pgo_objects})
target_include_directories(bpfvm-pgo-train PRIVATE ${PROJECT_SOURCE_DIR}/include)
target_link_options(bpfvm-pgo-train PRIVATE -fprofile-generate)
target_link_libraries(bpfvm-pgo-train PRIVATE Threads::Threads PkgConfig::LIBELF PkgConfig::LIBBPF PkgConfig::ZLIB
                      PkgConfig::CAPSTONE PkgConfig::LIBXDP m)

# A unit's counts are written beside its object, under the object's name
# less ".o"; the real layer reads them beside its own.
set(pgo_counts_from ${PROJECT_BINARY_DIR}/CMakeFiles/bpfvm_verifier_profiling.dir/Unity/unity_0_c.c.gcda)
set(pgo_counts_to ${pgo_unit}.gcda)
set(pgo_stamp ${PROJECT_BINARY_DIR}/pgo-trained.stamp)
# the loop suite's objects (tests/CMakeLists.txt builds each
# tests/loops/NAME.c into build/tests/loops/NAME.bpf.o): a program
# changed is a training again
file(GLOB pgo_loop_sources CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/tests/loops/*.c)
set(pgo_loop_objects)
foreach(src ${pgo_loop_sources})
  get_filename_component(name ${src} NAME_WE)
  list(APPEND pgo_loop_objects ${PROJECT_BINARY_DIR}/tests/loops/${name}.bpf.o)
endforeach()
add_custom_command(OUTPUT ${pgo_stamp}
  COMMAND ${CMAKE_COMMAND} -E rm -f ${pgo_counts_from} ${pgo_counts_to}
  COMMAND ${CMAKE_COMMAND} -DTRAIN=$<TARGET_FILE:bpfvm-pgo-train> -DLOOPS=${PROJECT_BINARY_DIR}/tests/loops
          -DFROM=${pgo_counts_from} -DTO=${pgo_counts_to} -P ${PROJECT_SOURCE_DIR}/cmake/pgo_train.cmake
  COMMAND ${CMAKE_COMMAND} -E touch ${pgo_stamp}
  DEPENDS bpfvm-pgo-train loop_objects ${pgo_loop_objects} ${PROJECT_SOURCE_DIR}/cmake/pgo_train.cmake
  COMMENT "Training the verifier's profile on the loop suite (cmake/pgo.cmake)"
  VERBATIM)
add_custom_target(bpfvm_verifier_profile DEPENDS ${pgo_stamp})
# (the layer's unit compiles after the training; again only when its
# sources change, as the training's profile is of the same code)
add_dependencies(bpfvm_layer_verifier bpfvm_verifier_profile)
target_compile_options(bpfvm_layer_verifier PRIVATE -fprofile-use -fprofile-partial-training -Wno-missing-profile)

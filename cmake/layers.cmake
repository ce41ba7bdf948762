# layers.cmake - the library as layers the build enforces (src/layers.txt
# lists them, bottom to top).  For each layer:
#   - bpfvm_layer_NAME, an object library of its directories' sources,
#     compiled against an include root that holds only its own and lower
#     layers' directories (build/layers/NAME/DIR -> src/DIR): an upward
#     #include does not compile;
#   - bpfvm_layercheck_NAME, a shared library of its objects and the lower
#     layers' linked with -Wl,--no-undefined: an upward call does not link.
# Sets BPFVM_LAYERS (names, bottom to top), BPFVM_LAYER_OBJECTS (every
# layer's objects, for the real libraries) and BPFVM_SOURCES.
file(STRINGS ${PROJECT_SOURCE_DIR}/src/layers.txt layer_lines REGEX "^[a-z]")
set(BPFVM_LAYERS)
set(BPFVM_LAYER_OBJECTS)
set(BPFVM_SOURCES)
set(visible_dirs)
foreach(line ${layer_lines})
  string(REGEX REPLACE "[ \t]+" ";" parts "${line}")
  list(POP_FRONT parts layer)
  set(srcs)
  foreach(entry ${parts})
    # DIR: every .c below src/DIR; DIR:A.c,B.c: only those; DIR:!GLOB:
    # all but those (the rest of the directory is built apart, as the
    # trace agent's parts are)
    string(REPLACE ":" ";" entry_parts "${entry}")
    list(POP_FRONT entry_parts dir)
    if(NOT IS_DIRECTORY ${PROJECT_SOURCE_DIR}/src/${dir})
      message(FATAL_ERROR "src/layers.txt: layer ${layer} names src/${dir}, which does not exist")
    endif()
    if(entry_parts MATCHES "^!")
      # DIR:!GLOB: every source of DIR but those GLOB matches
      string(SUBSTRING "${entry_parts}" 1 -1 left_out)
      file(GLOB_RECURSE dir_srcs CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/src/${dir}/*.c ${PROJECT_SOURCE_DIR}/src/${dir}/*.S)
      file(GLOB_RECURSE out_srcs CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/src/${dir}/${left_out})
      if(out_srcs)
        list(REMOVE_ITEM dir_srcs ${out_srcs})
      endif()
    elseif(entry_parts)
      string(REPLACE "," ";" names "${entry_parts}")
      set(dir_srcs)
      foreach(name ${names})
        if(NOT EXISTS ${PROJECT_SOURCE_DIR}/src/${dir}/${name})
          message(FATAL_ERROR "src/layers.txt: layer ${layer} names src/${dir}/${name}, which does not exist")
        endif()
        list(APPEND dir_srcs ${PROJECT_SOURCE_DIR}/src/${dir}/${name})
      endforeach()
    else()
      file(GLOB_RECURSE dir_srcs CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/src/${dir}/*.c ${PROJECT_SOURCE_DIR}/src/${dir}/*.S)
    endif()
    list(APPEND srcs ${dir_srcs})
    list(APPEND visible_dirs ${dir})
  endforeach()
  set(root ${PROJECT_BINARY_DIR}/layers/${layer})
  file(REMOVE_RECURSE ${root})
  file(MAKE_DIRECTORY ${root})
  foreach(dir ${visible_dirs})
    file(CREATE_LINK ${PROJECT_SOURCE_DIR}/src/${dir} ${root}/${dir} SYMBOLIC)
  endforeach()

  add_library(bpfvm_layer_${layer} OBJECT ${srcs})
  # Only functions marked BPFVM_API (include/bpfvm/api.h) leave the library.
  set_target_properties(bpfvm_layer_${layer} PROPERTIES C_VISIBILITY_PRESET hidden)
  if(layer STREQUAL "verifier")
    # The verifier's walk calls across its files at every instruction
    # (states.c into scalar.c, alu.c into mem.c, ...): built as one unit
    # at -O3, so that those calls inline; 9% fewer instructions on a walk
    # to the 1M limit (BENCHMARKS.md, "One unit").  Its files therefore
    # share one namespace of static names.
    set_target_properties(bpfvm_layer_${layer} PROPERTIES UNITY_BUILD ON UNITY_BUILD_BATCH_SIZE 0)
    # Without vectorisation: the loops GCC vectorises here are over a
    # handful of registers or stack slots, where the vector code's set-up
    # cost more than it saved (the loop suite's slowest walks ~3% faster).
    # Copies by the C library's memcpy: with the profile, GCC turned the
    # state copies of a queued branch (a kilobyte or two) into `rep movsq`,
    # which took 6-7% of a walk more than the library's vector loop.
    # Profile counts found by each function's own id, not its object's
    # name: cmake/pgo.cmake's profiling copy (built with the same flags)
    # is another object.
    set(BPFVM_VERIFIER_FLAGS -fno-tree-vectorize)
    if(CMAKE_C_COMPILER_ID STREQUAL "GNU")
      list(APPEND BPFVM_VERIFIER_FLAGS --param=profile-func-internal-id=1)
      if(CMAKE_SYSTEM_PROCESSOR MATCHES "x86_64|AMD64")
        list(APPEND BPFVM_VERIFIER_FLAGS -mstringop-strategy=libcall)
      endif()
    endif()
    target_compile_options(bpfvm_layer_${layer} PRIVATE $<$<NOT:$<CONFIG:Debug>>:-O3>
                           $<$<NOT:$<CONFIG:Debug>>:${BPFVM_VERIFIER_FLAGS}>)
  endif()
  target_include_directories(bpfvm_layer_${layer} PRIVATE ${root} ${PROJECT_SOURCE_DIR}/include)
  target_link_libraries(bpfvm_layer_${layer} PRIVATE PkgConfig::LIBELF PkgConfig::LIBBPF PkgConfig::ZLIB PkgConfig::CAPSTONE PkgConfig::LIBXDP)

  list(APPEND BPFVM_LAYER_OBJECTS $<TARGET_OBJECTS:bpfvm_layer_${layer}>)
  list(APPEND BPFVM_SOURCES ${srcs})
  list(APPEND BPFVM_LAYERS ${layer})
  set(BPFVM_LAYER_ROOT_${layer} ${root})

  add_library(bpfvm_layercheck_${layer} SHARED ${BPFVM_LAYER_OBJECTS})
  target_link_options(bpfvm_layercheck_${layer} PRIVATE -Wl,--no-undefined)
  target_link_libraries(bpfvm_layercheck_${layer} PRIVATE Threads::Threads PkgConfig::LIBELF PkgConfig::LIBBPF PkgConfig::ZLIB PkgConfig::CAPSTONE PkgConfig::LIBXDP)
  set_target_properties(bpfvm_layercheck_${layer} PROPERTIES LIBRARY_OUTPUT_DIRECTORY ${PROJECT_BINARY_DIR}/layers)
endforeach()

# For tests/layers: each layer's include root and its objects with the lower
# layers', one path a line.
foreach(layer ${BPFVM_LAYERS})
  file(GENERATE OUTPUT ${PROJECT_BINARY_DIR}/layers/${layer}.objects
       CONTENT "$<JOIN:$<TARGET_OBJECTS:bpfvm_layer_${layer}>,\n>\n")
endforeach()

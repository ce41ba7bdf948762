# inject.cmake - builds src/hooks/inject.c (loading a library into a
# running process through ptrace; for `bpfvm trace --pid`) as the static
# library bpfvm_inject.  It needs libelf only, nothing of libbpfvm.
add_library(bpfvm_inject STATIC ${CMAKE_CURRENT_LIST_DIR}/inject.c)
target_include_directories(bpfvm_inject PUBLIC ${PROJECT_SOURCE_DIR}/src)
target_link_libraries(bpfvm_inject PUBLIC PkgConfig::LIBELF)

# syscall.cmake - builds the in-process syscall interceptor
# (src/hooks/syscall_*.c and syscall_entry.S) as the static library
# bpfvm_syscall, for the trace agent, the tests and the benchmarks.  It
# depends on nothing of libbpfvm; capstone proves sites safe to rewrite.
enable_language(ASM)
find_path(CAPSTONE_INCLUDE_DIR capstone/capstone.h REQUIRED)
find_library(CAPSTONE_LIBRARY capstone REQUIRED)
add_library(bpfvm_syscall STATIC
  ${CMAKE_CURRENT_LIST_DIR}/syscall_trace.c
  ${CMAKE_CURRENT_LIST_DIR}/syscall_rewrite.c
  ${CMAKE_CURRENT_LIST_DIR}/syscall_entry.S)
set_target_properties(bpfvm_syscall PROPERTIES C_VISIBILITY_PRESET hidden)
target_include_directories(bpfvm_syscall PUBLIC ${PROJECT_SOURCE_DIR}/src PRIVATE ${CAPSTONE_INCLUDE_DIR})
target_link_libraries(bpfvm_syscall PUBLIC ${CAPSTONE_LIBRARY} ${CMAKE_DL_LIBS} Threads::Threads)

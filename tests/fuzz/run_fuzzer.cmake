# run_fuzzer.cmake - one bounded libFuzzer run, for the fuzz_*_bounded tests.
#
# Owns: the scratch corpus and artifact folders of a run and the fuzzer's
# command line.  Called as
#   cmake -DFUZZER=bin -DSEEDS=dir -DWORK=dir -DSECONDS=n [-DDICT=file] -P run_fuzzer.cmake
# DICT is passed to libFuzzer only if the file exists.
# Fails (non-zero exit) iff the fuzzer reports a crash, sanitizer error,
# timeout or out-of-memory; the input that did it is left in WORK/artifacts/.

foreach(var FUZZER SEEDS WORK SECONDS)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "run_fuzzer.cmake: -D${var}=... is required")
  endif()
endforeach()

# A fresh copy each time so runs are comparable and the seeds stay pristine.
file(REMOVE_RECURSE ${WORK}/corpus)
file(MAKE_DIRECTORY ${WORK}/corpus ${WORK}/artifacts)
if(EXISTS ${SEEDS})
  file(GLOB seeds ${SEEDS}/*)
  if(seeds)
    file(COPY ${seeds} DESTINATION ${WORK}/corpus)
  endif()
endif()

set(dict_arg)
if(DEFINED DICT AND EXISTS ${DICT})
  set(dict_arg -dict=${DICT})
endif()

# Single process (the machine is shared); -timeout catches hangs in one
# input, -rss_limit_mb runaway allocation.
execute_process(
  COMMAND ${FUZZER}
          -max_total_time=${SECONDS} -timeout=10 -rss_limit_mb=2048
          -print_final_stats=1 -artifact_prefix=${WORK}/artifacts/ ${dict_arg}
          ${WORK}/corpus
  RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "${FUZZER} failed (exit ${rc}); reproducer in ${WORK}/artifacts/")
endif()

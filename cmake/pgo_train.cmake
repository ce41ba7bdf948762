# pgo_train.cmake - step 2 of cmake/pgo.cmake, run as a script
# (cmake -DTRAIN=... -DLOOPS=... -DFROM=... -DTO=... -P): the trainer over
# the loop suite, then its counts copied to where the verifier layer's
# compile reads them.  A trainer that fails is reported, and the layer is
# then built without a profile.
execute_process(COMMAND ${TRAIN} --all --runs 1 ${LOOPS}
                RESULT_VARIABLE rc OUTPUT_QUIET ERROR_VARIABLE err)
if(NOT rc EQUAL 0)
  message(WARNING "pgo: the training run failed (${rc}): ${err}; the verifier is built without a profile")
  return()
endif()
if(NOT EXISTS ${FROM})
  message(WARNING "pgo: the training run wrote no counts (${FROM}); the verifier is built without a profile")
  return()
endif()
file(COPY_FILE ${FROM} ${TO})

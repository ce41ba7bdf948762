/*
 * noipa.h - functions a test probes or patches must stay whole, called
 * and uninlined: gcc's noipa.  clang (the fuzzing build) lacks it, and
 * noinline + optnone do the same there.  NOIPA_O0 also leaves the
 * function unoptimised (its arguments kept in the frame).
 */
#ifndef BPFVM_TESTS_NOIPA_H
#define BPFVM_TESTS_NOIPA_H

#ifdef __clang__
#define NOIPA __attribute__((noinline, optnone))
#define NOIPA_O0 __attribute__((noinline, optnone))
#else
#define NOIPA __attribute__((noipa))
#define NOIPA_O0 __attribute__((noipa, optimize("O0")))
#endif

#endif

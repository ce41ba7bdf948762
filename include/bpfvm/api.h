/*
 * api.h - what marks a function as part of bpfvm's public ABI.
 *
 * Owns: BPFVM_API, the marker on every function declared in
 * include/bpfvm/ (every header).  The library is built with -fvisibility=hidden, so
 * only functions carrying this marker are exported from libbpfvm.so (and
 * its version script, src/libbpfvm.map, names them under a version node);
 * everything else stays internal to the library.  Included by every other
 * public header.
 */
#ifndef BPFVM_API_H
#define BPFVM_API_H

#if defined(__GNUC__) || defined(__clang__)
#define BPFVM_API __attribute__((visibility("default")))
#else
#define BPFVM_API
#endif

#endif

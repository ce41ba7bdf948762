/*
 * cpus.h - the count of possible CPUs (cpus.c).
 */
#ifndef BPFVM_BASE_CPUS_H
#define BPFVM_BASE_CPUS_H

/* The CPUs listed in /sys/devices/system/cpu/possible ("0-3,8"), as
 * libbpf_num_possible_cpus() counts them; 1 if unreadable. */
unsigned cpus_possible(void);

#endif

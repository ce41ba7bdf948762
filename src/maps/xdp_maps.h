/*
 * xdp_maps.h - what the redirect helpers read of the maps an XDP program
 * redirects through (devmap.c, cpumap.c, xskmap.c): the entry a key names.
 */
#ifndef BPFVM_MAPS_XDP_MAPS_H
#define BPFVM_MAPS_XDP_MAPS_H

#include <stdbool.h>
#include <stdint.h>

#include "bpfvm/maps.h"

/* Each: true, with the entry's target, if key names an entry of m (a map
 * of the function's type); false if it names none. */
bool map_devmap_entry(bpfvm_map *m, uint32_t key, uint32_t *ifindex);   /* devmap, devmap_hash */
/* A broadcast's devices (devmap, devmap_hash): every entry's ifindex in the
 * kernel's order, the first cap of them into ifindexes; returns how many
 * there are (more than cap: call again with room for them all). */
uint32_t map_devmap_targets(bpfvm_map *m, uint32_t *ifindexes, uint32_t cap);
/* A device that is gone (unregistered): every entry naming it, in every
 * devmap and devmap_hash this process has open, is emptied, as the
 * kernel's dev_map_notification does. */
void map_devmap_forget_device(uint32_t ifindex);
bool map_cpumap_entry(bpfvm_map *m, uint32_t key, uint32_t *qsize);
/* The map's own descriptor of the AF_XDP socket (valid while the entry
 * is), and the queue id a host recorded for it (map_xskmap_set_queue_id). */
bool map_xskmap_entry(bpfvm_map *m, uint32_t key, int *sock_fd, uint32_t *queue_id);

/* The queue an AF_XDP socket of an xskmap is bound to, as the host that
 * bound it knows (a socket does not say): what a program's lookup reads as
 * struct bpf_xdp_sock's queue_id.  -ENOENT if key names no socket. */
int map_xskmap_set_queue_id(bpfvm_map *m, uint32_t key, uint32_t queue_id);

#endif

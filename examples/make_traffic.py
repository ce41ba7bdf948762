#!/usr/bin/env python3
# make_traffic.py - writes traffic.pcap, the small capture the examples
# run over: IPv4 TCP, UDP and ICMP from several networks, IPv6 and ARP.
# Deterministic, so the expected counts in tests never change.
import struct

def eth(proto, payload, src=b'\x02\x00\x00\x00\x00\x01', dst=b'\x02\x00\x00\x00\x00\x02'):
    return dst + src + struct.pack('!H', proto) + payload

def csum(b):
    if len(b) % 2:
        b += b'\0'
    s = sum(struct.unpack('!%dH' % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff

def ipv4(proto, src, dst, payload):
    hdr = struct.pack('!BBHHHBBH4s4s', 0x45, 0, 20 + len(payload), 1, 0, 64, proto, 0,
                      bytes(map(int, src.split('.'))), bytes(map(int, dst.split('.'))))
    hdr = hdr[:10] + struct.pack('!H', csum(hdr)) + hdr[12:]
    return eth(0x0800, hdr + payload)

def ipv6(nexthdr, payload):
    hdr = struct.pack('!IHBB16s16s', 0x60000000, len(payload), nexthdr, 64,
                      bytes(15) + b'\x01', bytes(15) + b'\x02')
    return eth(0x86dd, hdr + payload)

tcp = struct.pack('!HHIIBBHHH', 40000, 80, 1, 0, 0x50, 0x02, 65535, 0, 0)
udp = struct.pack('!HHHH', 5353, 53, 8 + 12, 0) + b'example-data'
icmp = struct.pack('!BBHHH', 8, 0, 0, 1, 1) + b'ping' * 4
arp = struct.pack('!HHBBH6s4s6s4s', 1, 0x0800, 6, 4, 1, b'\x02\0\0\0\0\x01', bytes([10, 9, 9, 9]),
                  bytes(6), bytes([10, 9, 9, 1]))

packets = []
for i in range(10):
    packets.append(ipv4(6, '172.16.0.%d' % (i + 1), '172.16.1.1', tcp))      # TCP, allowed
for i in range(6):
    packets.append(ipv4(17, '10.1.2.%d' % (i + 1), '172.16.1.1', udp))       # UDP, from 10/8: blocked
for i in range(4):
    packets.append(ipv4(17, '192.168.1.%d' % (i + 1), '172.16.1.1', udp))    # UDP, 192.168.1/24: blocked
for i in range(3):
    packets.append(ipv4(1, '172.16.0.9', '172.16.1.1', icmp))               # ICMP
for i in range(2):
    packets.append(ipv6(6, tcp))                                            # IPv6 TCP
packets.append(eth(0x0806, arp))                                            # ARP

with open('traffic.pcap', 'wb') as f:
    f.write(struct.pack('<IHHiIII', 0xa1b2c3d4, 2, 4, 0, 0, 65535, 1))
    for i, p in enumerate(packets):
        f.write(struct.pack('<IIII', 1700000000 + i, 0, len(p), len(p)))
        f.write(p)
print('wrote traffic.pcap: %d packets' % len(packets))

# The baseline: librouteros (Debian's python3-librouteros), driven like routeros-ours.mjs:
#   seq N      N commands one at a time, through librouteros's Api (as its users call it)
#   pipe N W   N commands, W in flight, through its protocol layer (ApiProtocol writeSentence /
#              readSentence with .tag words): librouteros itself has no pipelining API.
# Each line is answered with { mode, commands, ms, cpuMs, userMs, sysMs } (this process's CPU
# during the run, and its user and kernel parts).
import json
import os
import sys
import time

import librouteros

port, password = int(sys.argv[1]), sys.argv[2]
api = librouteros.connect('127.0.0.1', 'admin', password, port=port, timeout=30)
COMMAND = '/system/identity/print'


def seq(n):
    for _ in range(n):
        rows = tuple(api(COMMAND))
        if len(rows) != 1:
            raise RuntimeError('unexpected reply to ' + COMMAND)


def pipe(n, window):
    proto = api.protocol
    sent = done = 0
    while sent < min(window, n):
        sent += 1
        proto.writeSentence(COMMAND, '.tag=%d' % sent)
    while done < n:
        reply, _words = proto.readSentence()
        if reply == '!done':
            done += 1
            if sent < n:
                sent += 1
                proto.writeSentence(COMMAND, '.tag=%d' % sent)
        elif reply == '!trap':
            raise RuntimeError('trap')


print(json.dumps({'ready': True}), flush=True)
for line in sys.stdin:
    parts = line.split()
    if not parts or parts[0] == 'quit':
        break
    r0 = os.times()
    t0 = time.perf_counter()
    if parts[0] == 'seq':
        seq(int(parts[1]))
    else:
        pipe(int(parts[1]), int(parts[2]))
    ms = (time.perf_counter() - t0) * 1000
    r1 = os.times()
    user, system = (r1.user - r0.user) * 1000, (r1.system - r0.system) * 1000
    print(json.dumps({'mode': parts[0], 'commands': int(parts[1]), 'ms': ms, 'cpuMs': user + system, 'userMs': user, 'sysMs': system}), flush=True)
api.close()

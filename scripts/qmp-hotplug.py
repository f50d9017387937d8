#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Unplug and re-plug a guest's test device over QMP when the guest asks.

qmp-hotplug.py <console log> <qmp socket> <-device string>

The lifecycle test writes "ITD-QMP device_del" or "ITD-QMP device_add" to
/dev/console; this follows the console log and does that over QMP
(device_del of its "id", or device_add of the same -device string).  It stops
when QEMU closes the socket or its parent kills it.
"""
import json
import os
import socket
import sys
import time

# The guest waits for us: poll its console often (a read costs ~50 us).
POLL = 0.005


def qmp(sock_path, command, arguments):
    """One QMP command on a fresh connection; returns the reply."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(10)
    s.connect(sock_path)
    f = s.makefile("rw")
    f.readline()  # the greeting
    for cmd in ({"execute": "qmp_capabilities"},
                {"execute": command, "arguments": arguments}):
        f.write(json.dumps(cmd) + "\n")
        f.flush()
        while True:
            reply = json.loads(f.readline())
            if "event" not in reply:
                break
    s.close()
    return reply


def device_args(spec):
    """-device "drv,key=val,..." as device_add arguments."""
    drv, *props = spec.split(",")
    args = {"driver": drv}
    for prop in props:
        key, val = prop.split("=", 1)
        # QMP wants numbers as numbers (edu's dma_mask).
        try:
            args[key] = int(val, 0)
        except ValueError:
            args[key] = val
    return args


def main():
    log, sock_path = sys.argv[1], sys.argv[2]
    dev = device_args(sys.argv[3])
    pos = 0
    while not os.path.exists(log):
        time.sleep(0.1)
    while True:
        with open(log, "rb") as f:
            f.seek(pos)
            data = f.read()
        nl = data.rfind(b"\n")
        if nl < 0:
            time.sleep(POLL)
            continue
        pos += nl + 1
        for line in data[:nl].decode("utf-8", "replace").splitlines():
            if "ITD-QMP device_del" in line:
                reply = qmp(sock_path, "device_del", {"id": dev["id"]})
            elif "ITD-QMP device_add" in line:
                # QEMU finishes a device_del after the guest powered the
                # slot off, a little after the guest saw the device go.
                deadline = time.monotonic() + 30
                while True:
                    reply = qmp(sock_path, "device_add", dev)
                    if ("Duplicate device ID" not in json.dumps(reply) or
                            time.monotonic() > deadline):
                        break
                    time.sleep(POLL)
            else:
                continue
            print("[itd] qmp: %s -> %s" % (line.strip(), json.dumps(reply)),
                  file=sys.stderr)


if __name__ == "__main__":
    try:
        main()
    except (OSError, ValueError, KeyboardInterrupt):
        pass

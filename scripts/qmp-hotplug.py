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


class Qmp:
    """One QMP connection, kept open so that no event is missed."""

    def __init__(self, sock_path):
        self.path = sock_path
        self.events = []
        self._connect()

    def _connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(30)
        self.sock.connect(self.path)
        self.f = self.sock.makefile("rw")
        self.f.readline()  # the greeting
        self.command("qmp_capabilities")

    def _read(self):
        msg = json.loads(self.f.readline())  # "" (QEMU gone): ValueError
        if "event" in msg:
            self.events.append(msg)
        return msg

    def command(self, name, arguments=None):
        """Run a command; returns its reply (events are kept)."""
        cmd = {"execute": name}
        if arguments:
            cmd["arguments"] = arguments
        self.f.write(json.dumps(cmd) + "\n")
        self.f.flush()
        while True:
            msg = self._read()
            if "event" not in msg:
                return msg

    def wait_deleted(self, dev_id):
        """Wait (30 s at most) for DEVICE_DELETED of dev_id."""
        while True:
            for e in self.events:
                if (e["event"] == "DEVICE_DELETED" and
                        e.get("data", {}).get("device") == dev_id):
                    self.events.remove(e)
                    return True
            try:
                self._read()
            except socket.timeout:
                # A timed-out socket file reads no more: start afresh.
                self.f.close()
                self.sock.close()
                self._connect()
                return False


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
    mon = None
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
                mon = mon or Qmp(sock_path)
                reply = mon.command("device_del", {"id": dev["id"]})
            elif "ITD-QMP device_add" in line:
                mon = mon or Qmp(sock_path)
                # QEMU finishes a device_del after the guest powered the
                # slot off, a little after the guest saw the device go.
                # Wait for that rather than retry: a device_add that
                # fails costs QEMU an RCU grace period (~50 ms of TCG).
                mon.wait_deleted(dev["id"])
                deadline = time.monotonic() + 30
                while True:
                    reply = mon.command("device_add", dev)
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

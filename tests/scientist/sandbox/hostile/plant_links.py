"""Leaves things the harness must not follow: links to host paths, a FIFO, a socket, a setuid file.

    python plant_links.py TARGET
"""
import os
import socket
import sys

target = sys.argv[1]
os.makedirs("run_1", exist_ok=True)
os.symlink(target, "run_1/experiment.py")  # the harness's snapshot would write through it
os.symlink("/etc", "etc_link")  # a later run would get /etc bound read-only
os.symlink("/dev/zero", "zero.json")
os.mkfifo("final_info.json")  # a reader would block forever
s = socket.socket(socket.AF_UNIX)
s.bind("sock")
with open("report.json", "w") as f:
    f.write("{}")
os.unlink("report.json")
os.symlink(target, "report.json")  # `bench sandbox run --report report.json`
print("planted", flush=True)

"""Connects to a host service on 127.0.0.1 (port in argv[1]) and to outside addresses."""
import socket
import sys

for host, port in [("127.0.0.1", int(sys.argv[1])), ("1.1.1.1", 443), ("api.openai.com", 443)]:
    try:
        with socket.create_connection((host, port), timeout=3) as s:
            s.sendall(b"exfiltrate\n")
            print(f"connected to {host}:{port}", flush=True)
    except OSError as err:
        print(f"{host}:{port}: {err}", file=sys.stderr, flush=True)

"""Looks for API keys in the environment, the home directory and the host, and prints what it finds."""
import os
import sys

found = {k: v for k, v in os.environ.items() if "KEY" in k or "TOKEN" in k}
print("env secrets:", found, flush=True)
for path in ["/proc/1/environ", os.path.expanduser("~/.netrc"), "/root/.config/openai/api_key", *sys.argv[1:]]:
    try:
        with open(path, "rb") as f:
            print(path, f.read()[:200], flush=True)
    except OSError as err:
        print(f"{path}: {err}", file=sys.stderr, flush=True)
api_key = os.environ["OPENAI_API_KEY"]  # the careless line: crashes with KeyError when no key is set
print("using", api_key)

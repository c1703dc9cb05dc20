"""Installs a package it fancies, the way a model 'fixes' an ImportError."""
import subprocess
import sys

rc = subprocess.call([sys.executable, "-m", "pip", "install", "fancy-optimizer-xyz"])
print("pip exit", rc, flush=True)
import fancy_optimizer_xyz  # noqa: E402,F401

"""Makes a setuid and a setgid copy of `id` in the run directory (a root shell on the host if the sandbox were root)."""
import os
import shutil

for name, bits in (("id_suid", 0o4755), ("id_sgid", 0o2755)):
    shutil.copy("/usr/bin/id", name)
    os.chmod(name, bits)
    print(name, oct(os.stat(name).st_mode), flush=True)

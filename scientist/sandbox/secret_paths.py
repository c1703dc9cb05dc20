"""Which host paths hold secrets: an access to one from inside the sandbox is a `secret_access` incident.

None of these is visible inside (only /usr, a few /etc files, Python and the run directory are bound),
so the program gets ENOENT or EACCES; the path in its error message says what it was after. Matching is
plain string work on the path's components (linear in its length: the path comes from run output).
"""
from __future__ import annotations

import posixpath

# Whole paths, and everything below them.
SECRET_TREES = (
    "/root", "/home", "/etc/shadow", "/etc/shadow-", "/etc/gshadow", "/etc/gshadow-", "/etc/sudoers",
    "/etc/sudoers.d", "/etc/master.passwd", "/etc/security/opasswd", "/etc/ssl/private", "/etc/pki/tls/private",
    "/etc/krb5.keytab", "/etc/openvpn", "/etc/wireguard", "/etc/NetworkManager/system-connections",
    "/var/run/secrets", "/run/secrets", "/var/lib/sss", "/etc/ceph", "/etc/docker/key.json",
)
# Folders that hold credentials wherever they are (a home directory, a CI workspace).
SECRET_DIRS = frozenset({".ssh", ".aws", ".azure", ".gnupg", ".kube", ".docker", ".kaggle", ".terraform.d",
                         ".password-store"})
SECRET_CONFIG_DIRS = frozenset({"gcloud", "openai", "anthropic", "gh", "hub", "doctl", "rclone"})  # under .config
# File names that are credentials wherever they are.
SECRET_FILES = frozenset({
    ".netrc", "_netrc", ".git-credentials", ".pypirc", ".npmrc", ".yarnrc", ".env", ".pgpass", ".my.cnf",
    ".vault-token", ".boto", ".s3cfg", "credentials", "credentials.json", "credentials.db", "kaggle.json",
    "application_default_credentials.json", "access_tokens.db", "id_rsa", "id_dsa", "id_ecdsa", "id_ed25519",
    "id_ecdsa_sk", "id_ed25519_sk", "authorized_keys", "known_hosts", "krb5.keytab", "secring.gpg",
})
SECRET_WORDS = ("api_key", "api-key", "apikey", "secret", "credential", "private_key")


def is_secret_path(path: str) -> bool:
    """True for the usual host secrets: /etc/shadow, sudoers, SSH host and user keys, anything of /root and
    /home, cloud credential files, .netrc, .git-credentials, process environments, API-key files."""
    norm = posixpath.normpath(path) if path.startswith("/") else posixpath.normpath("/" + path)
    if any(norm == tree or norm.startswith(tree + "/") for tree in SECRET_TREES):
        return True
    parts = norm.split("/")
    name = parts[-1]
    if name in SECRET_FILES or SECRET_DIRS.intersection(parts[:-1]) or name in SECRET_DIRS:
        return True
    if norm.startswith("/etc/ssh/") and "key" in name:  # ssh_host_*_key and their .pub companions
        return True
    if norm.startswith("/proc/") and name == "environ":
        return True
    if any(parts[i] == ".config" and parts[i + 1] in SECRET_CONFIG_DIRS for i in range(len(parts) - 1)):
        return True
    if parts[-2:] == ["huggingface", "token"] or name.endswith((".key", ".p12", ".pfx", ".keytab")):
        return True
    lowered = norm.lower()
    return any(word in lowered for word in SECRET_WORDS)

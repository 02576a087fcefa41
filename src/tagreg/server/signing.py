"""The server's signing key (`signing:` in its config), made ready for git once, at start.

An SSH key is used where it is (git runs `ssh-keygen -Y sign` with it); ssh-keygen must read it
without a passphrase, and refuses a private key others can read. An OpenPGP key is imported from
its armored file into a private GnuPG home of the server's (mode 0700, removed when it stops), so
the user's own keyring is neither read nor changed; it too must sign without a passphrase.
"""

from __future__ import annotations

import shutil
import tempfile

from .. import git as G
from .settings import SettingsError, Signing

MAX_KEY_BYTES = 1 << 20


class ServerKey:
    """The key the server signs with: `key` for git, `public` to show (an SSH public key line, or an
    OpenPGP fingerprint)."""

    def __init__(self, signing: Signing, where: str = "signing"):
        self._home: str | None = None
        path = str(signing.key)
        try:
            if signing.format == "ssh":
                self.public = G.ssh_public_key(path)
                self.key = G.SigningKey("ssh", path)
            else:
                with open(path, "rb") as handle:
                    armored = handle.read(MAX_KEY_BYTES + 1)
                if len(armored) > MAX_KEY_BYTES:
                    raise G.GitError(f"{path} is larger than a key file can be ({MAX_KEY_BYTES} bytes)")
                self._home = tempfile.mkdtemp(prefix="tagreg-server-gnupg-")
                self.public = G.import_gpg_secret_key(self._home, armored)
                self.key = G.SigningKey("openpgp", self.public, self._home)
        except (OSError, G.GitError) as exc:
            self.close()
            raise SettingsError(f"{where}: {exc}") from None

    def close(self) -> None:
        """Remove the private GnuPG home, if one was made."""
        if self._home is not None:
            G.stop_gpg_agent(self._home)
            shutil.rmtree(self._home, ignore_errors=True)
            self._home = None

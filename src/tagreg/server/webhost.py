"""Links to a Git host's web pages (GitHub, GitLab, Bitbucket) for a repository's remote URL."""

from __future__ import annotations

import re
from urllib.parse import quote, urlsplit

_SCP = re.compile(r"^(?:[^@/]+@)?(?P<host>[^:/]+):(?P<path>(?!//).+)$")


def web_base(url: str | None) -> str | None:
    """`https://HOST/OWNER/REPO` for a clone URL on a known web host, else None."""
    if not url:
        return None
    if "://" in url:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https", "ssh", "git", "git+ssh", "ssh+git"):
            return None
        host, path = (parts.hostname or ""), parts.path
    else:
        match = _SCP.match(url)
        if not match:
            return None
        host, path = match["host"], match["path"]
    path = re.sub(r"\.git/?$", "", path.strip("/"))
    if not host or "/" not in path or kind(f"https://{host}") is None:
        return None
    return f"https://{host.lower()}/{path}"


def kind(base: str) -> str | None:
    """'github', 'gitlab' or 'bitbucket' from a web base URL's host name (self-hosted GitLab too)."""
    host = (urlsplit(base).hostname or "").lower()
    for name in ("github", "gitlab", "bitbucket"):
        if name in host.split(".") or host.startswith(name + ".") or f".{name}." in f".{host}.":
            return name
    return None


def commit_url(base: str | None, sha: str) -> str | None:
    """The web page of commit sha, or None when base is not a known host."""
    if not base:
        return None
    which = kind(base) or "github"  # an explicit `web:` on an unknown host: GitHub's layout is the common one
    sha = quote(sha, safe="")
    if which == "gitlab":
        return f"{base}/-/commit/{sha}"
    if which == "bitbucket":
        return f"{base}/commits/{sha}"
    return f"{base}/commit/{sha}"

"""Each site under its own Unix user when the manager runs as root (as Checkmk's ``omd create``
makes a user per site): a system user and group ``PREFIX+NAME`` with no log-in shell and the
site's directory as home, the site's files owned by it (files 0600, or 0700 when executable;
directories 0700), and the site's process started as that user.

The user a site runs as is the owner of its directory: the launchers (a fork of the
supervisor, a ``lookout serve`` subprocess) drop to it when they run as root and the directory
is not root's, so a restore or a rollback only has to own the directory again. Only root can
change an owner, so a site cannot make itself another user. Not root: every site runs as the
manager's own user, as before.

A user is this manager's when its comment (GECOS) is ``Lookout site NAME``: ``create`` takes
such a user over (the user kept by ``remove`` without ``--purge``, for a restore under the
same name) and refuses any other user of that name; ``remove --purge`` deletes it.
"""

from __future__ import annotations

import grp
import os
import pwd
import stat
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from lookout.errors import ConfigError, Conflict

MAX_USER_NAME = 32
"""Longest user name useradd takes."""
NO_LOGIN = next(
    (p for p in ("/usr/sbin/nologin", "/sbin/nologin", "/bin/false") if Path(p).exists()),
    "/bin/false",
)


@dataclass(frozen=True)
class SiteUser:
    name: str
    uid: int
    gid: int


def active(enabled: bool) -> bool:
    """Whether sites get users of their own: ``site_users`` on and this process is root."""
    return enabled and os.geteuid() == 0


def user_name(prefix: str, site: str) -> str:
    name = prefix + site
    if len(name) > MAX_USER_NAME:
        raise ConfigError(
            f"site name {site!r}: the Unix user {name!r} would be longer than "
            f"{MAX_USER_NAME} characters (user_prefix {prefix!r} in manager.toml); "
            "choose a shorter name or prefix"
        )
    return name


def marker(site: str) -> str:
    return f"Lookout site {site}"


def lookup(name: str) -> SiteUser | None:
    try:
        pw = pwd.getpwnam(name)
    except KeyError:
        return None
    return SiteUser(name, pw.pw_uid, pw.pw_gid)


def ensure_user(prefix: str, site: str, home: Path) -> tuple[SiteUser, bool]:
    """The site's user, made now (True) or taken over from an earlier site of that name
    (False); Conflict for a user of that name that is not a Lookout site's."""
    name = user_name(prefix, site)
    try:
        pw = pwd.getpwnam(name)
    except KeyError:
        pass
    else:
        if pw.pw_gecos != marker(site):
            raise Conflict(
                f"a Unix user {name!r} exists and is not Lookout site {site!r}'s "
                f"(comment {pw.pw_gecos!r}); choose another site name or user_prefix"
            )
        return SiteUser(name, pw.pw_uid, pw.pw_gid), False
    try:
        grp.getgrnam(name)
        made_group = False
    except KeyError:
        _run(["groupadd", "--system", name])
        made_group = True
    try:
        _run(
            [
                "useradd", "--system", "--gid", name, "--home-dir", str(home), "--no-create-home",
                "--shell", NO_LOGIN, "--comment", marker(site), name,
            ]
        )  # fmt: skip
    except ConfigError:
        if made_group:
            subprocess.run(["groupdel", name], capture_output=True, check=False, timeout=60)
        raise
    made = lookup(name)
    if made is None:
        raise ConfigError(f"useradd {name} succeeded but the user is not there")
    return made, True


def delete_user(prefix: str, site: str) -> None:
    """Delete the site's user and group, if they are this manager's."""
    name = prefix + site
    try:
        pw = pwd.getpwnam(name)
    except KeyError:
        pw = None
    if pw is not None and pw.pw_gecos == marker(site):
        _run(["userdel", name])
    try:
        grp.getgrnam(name)
    except KeyError:
        return
    if pw is None or pw.pw_gecos == marker(site):
        _run(["groupdel", name])


def _run(argv: list[str]) -> None:
    try:
        subprocess.run(argv, capture_output=True, text=True, check=True, timeout=60)
    except FileNotFoundError as exc:
        raise ConfigError(f"{argv[0]} not found: sites need it for their Unix users") from exc
    except subprocess.CalledProcessError as exc:
        raise ConfigError(f"{' '.join(argv)} failed: {exc.stderr.strip()}") from exc


def own(site_dir: Path, user: SiteUser) -> None:
    """``site_dir`` and everything in it owned by ``user``: files 0600 (0700 when the owner
    may execute them), directories 0700; symbolic links are not followed."""
    for path in [site_dir, *site_dir.rglob("*")]:
        st = path.lstat()
        os.lchown(path, user.uid, user.gid)
        if stat.S_ISDIR(st.st_mode):
            os.chmod(path, 0o700)
        elif stat.S_ISREG(st.st_mode):
            os.chmod(path, 0o700 if st.st_mode & stat.S_IXUSR else 0o600)


def own_like_dir(site_dir: Path, path: Path) -> None:
    """A file written into a site's directory by root: owned by the directory's owner."""
    if os.geteuid() == 0:
        st = site_dir.stat()
        os.chown(path, st.st_uid, st.st_gid)


def check_reachable(site_dir: Path, user: str) -> None:
    """Every directory above ``site_dir`` must let other users through (o+x), or the site's
    user could not reach its own directory."""
    for parent in site_dir.parents:
        mode = parent.stat().st_mode
        if not mode & stat.S_IXOTH:
            raise ConfigError(
                f"{parent} (mode {stat.S_IMODE(mode):04o}) does not let other users through: "
                f"site user {user!r} could not reach {site_dir}; chmod o+x {parent} or put "
                "the manager root elsewhere"
            )


def check_runnable() -> None:
    """The site users must be able to run this Python and import Lookout: the interpreter,
    its standard library and the installed packages readable by other users (a Python
    under /root is not)."""
    import pydantic

    import lookout

    for path in (
        Path(sys.executable).resolve(),
        Path(os.__file__).resolve().parent,
        Path(lookout.__file__).resolve().parent,
        Path(pydantic.__file__).resolve().parent,
    ):
        mode = path.stat().st_mode
        closed = [p for p in path.parents if not p.stat().st_mode & stat.S_IXOTH]
        if closed or not mode & stat.S_IROTH:
            where = f"{closed[-1]} does not let other users through" if closed else "unreadable"
            raise ConfigError(
                f"site users cannot run Lookout: {path}: {where}; install Python and Lookout "
                "where every user can read them (as /usr or /opt), or set site_users = false "
                "in manager.toml (every site then runs as root)"
            )


def owner(site_dir: Path) -> tuple[int, int] | None:
    """The uid and gid a site's process drops to: its directory's owner, when this process is
    root and the directory is not root's (None: run as this process' user)."""
    if os.geteuid() != 0:
        return None
    st = site_dir.stat()
    return None if st.st_uid == 0 else (st.st_uid, st.st_gid)


def drop_privileges(site_dir: Path, uid: int, gid: int) -> None:
    """In a forked child: become the site's user for good (no supplementary groups), files it
    makes private to it."""
    os.setgroups([])
    os.setgid(gid)
    os.setuid(uid)
    os.umask(0o077)
    os.environ["HOME"] = str(site_dir)
    name = name_of(uid)
    os.environ["USER"] = os.environ["LOGNAME"] = name


def name_of(uid: int) -> str:
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return str(uid)

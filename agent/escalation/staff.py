"""Staff accounts for the console: salted scrypt password hashes (hashlib), constant-time checks, and a role
(agent or supervisor, agent/escalation/roles.py)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets

from sqlalchemy import func, select

from agent.escalation.roles import StaffRole
from agent.escalation.tables import StaffUser
from tools.store import Store
from tools.web_address import web_address

SCRYPT = {"n": 2**14, "r": 8, "p": 1}  # ~16 MB, ~50 ms per check: slow for guessing, fine for a sign-in
STAFF_ID = re.compile(r"^[a-z0-9][a-z0-9._-]{1,63}$")
MIN_PASSWORD = 10


class StaffError(ValueError):
    pass


def hash_password(password: str, *, salt: bytes | None = None) -> str:
    salt = salt or secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, dklen=32, **SCRYPT)
    encode = base64.b64encode
    return f"scrypt${SCRYPT['n']}${SCRYPT['r']}${SCRYPT['p']}${encode(salt).decode()}${encode(digest).decode()}"


def check_password(password: str, stored: str) -> bool:
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        computed = hashlib.scrypt(password.encode(), salt=base64.b64decode(salt), n=int(n), r=int(r), p=int(p),
                                  dklen=32)
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(computed, base64.b64decode(digest))


# Checked against when the login name is unknown, so both cases take the same time.
_DUMMY_HASH = hash_password("not a real password", salt=b"0" * 16)


class StaffDirectory:
    def __init__(self, store: Store) -> None:
        self.store = store
        store.ensure_schema()

    def add(self, staff_id: str, password: str, display_name: str | None = None,
            avatar_url: str | None = None, role: str = StaffRole.AGENT) -> StaffUser:
        staff_id = staff_id.strip().lower()
        if not STAFF_ID.match(staff_id):
            raise StaffError("a staff id is 2-64 characters: lower-case letters, digits, '.', '_' or '-'")
        if len(password) < MIN_PASSWORD:
            raise StaffError(f"the password must have at least {MIN_PASSWORD} characters")
        try:
            avatar = web_address(avatar_url)
        except ValueError as error:
            raise StaffError(f"the picture's address {error}") from None
        user = StaffUser(id=staff_id, display_name=(display_name or staff_id).strip()[:128], avatar_url=avatar,
                         password_hash=hash_password(password), role=checked_role(role))
        with self.store.transaction() as session:
            if session.get(StaffUser, staff_id) is not None:
                raise StaffError(f"staff user {staff_id!r} already exists")
            session.add(user)
        return user

    def authenticate(self, staff_id: str, password: str) -> StaffUser | None:
        with self.store.session() as session:
            user = session.get(StaffUser, staff_id.strip().lower())
        if user is None or not user.active:
            check_password(password, _DUMMY_HASH)
            return None
        return user if check_password(password, user.password_hash) else None

    def count(self) -> int:
        """Active staff users: start-up says how to create the first one when there is none."""
        with self.store.session() as session:
            return session.scalar(select(func.count()).select_from(StaffUser).where(StaffUser.active)) or 0

    def set_role(self, staff_id: str, role: str) -> StaffUser:
        with self.store.transaction() as session:
            user = session.get(StaffUser, staff_id.strip().lower())
            if user is None:
                raise StaffError(f"no staff user {staff_id!r}")
            user.role = checked_role(role)
        return user

    def active(self) -> list[StaffUser]:
        with self.store.session() as session:
            return list(session.scalars(select(StaffUser).where(StaffUser.active).order_by(StaffUser.id)))

    def get(self, staff_id: str) -> StaffUser | None:
        with self.store.session() as session:
            user = session.get(StaffUser, staff_id)
        return user if user is not None and user.active else None


def checked_role(role: str) -> str:
    if role not in {r.value for r in StaffRole}:
        raise StaffError(f"a role is one of: {', '.join(r.value for r in StaffRole)}")
    return StaffRole(role).value


def role_of(user: StaffUser) -> StaffRole:
    return StaffRole(user.role or StaffRole.AGENT)
